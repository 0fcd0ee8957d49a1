/* nalcast: minimal semaphore.h for the single-threaded wasm32 OpenH264 decoder (types only). */
#ifndef NALCAST_OVERLAY_SEMAPHORE_H
#define NALCAST_OVERLAY_SEMAPHORE_H
typedef struct { int nalcast_unused; } sem_t;
#endif
