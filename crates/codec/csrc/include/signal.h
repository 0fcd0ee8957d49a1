/* nalcast: empty signal.h; wasm has no signals and the single-threaded decoder needs none. */
#ifndef NALCAST_OVERLAY_SIGNAL_H
#define NALCAST_OVERLAY_SIGNAL_H
#endif
