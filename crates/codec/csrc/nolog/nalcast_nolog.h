/* Forced into every OpenH264 file except utils.cpp (which defines WelsLog) unless NALCAST_OH_LOG is
 * set (see build.rs): every WelsLog call, with its printf format string, compiles to nothing. None
 * of the calls' arguments has a side effect. */
#include "utils.h"
#define WelsLog(...) ((void)0)
