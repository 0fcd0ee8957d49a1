/* Forced into every OpenH264 file except utils.cpp and crt_util_safe_x.cpp (which define WelsLog and
 * WelsVsnprintf) unless NALCAST_OH_LOG is set (see build.rs): every WelsLog call, with its printf
 * format string, compiles to nothing. None of the calls' arguments has a side effect. */
#include "utils.h"
#include "crt_util_safe_x.h"
#define WelsLog(...) ((void)0)
/* welsCodecTrace's sink formats only what WelsLog hands it, and nothing does now: without this its
 * WelsVsnprintf call alone kept vsnprintf in the module (2.1 KB). crt_util_safe_x.cpp, which
 * defines the function, is built without this header (build.rs). */
#define WelsVsnprintf(...) 0
