/* nalcast: minimal pthread.h for the single-threaded wasm32 build of OpenH264's decoder.
 * Only the types named by WelsThreadLib.h; the thread library itself is provided by
 * nalcast-codec (src/wasm/threads.rs) as single-threaded no-ops. */
#ifndef NALCAST_OVERLAY_PTHREAD_H
#define NALCAST_OVERLAY_PTHREAD_H
typedef unsigned long pthread_t;
typedef struct { int nalcast_unused; } pthread_mutex_t;
typedef struct { int nalcast_unused; } pthread_cond_t;
typedef struct { int nalcast_unused; } pthread_attr_t;
typedef struct { int nalcast_unused; } pthread_mutexattr_t;
#endif
