/*
 * patch_int.h - internals of the patch engine exposed to its unit test
 * only (not part of the engine interface).
 */
#ifndef PATCH_INT_H
#define PATCH_INT_H

/*
 * Pyramid levels used for the worker's last tile (1 = full size only), and
 * in *fallback (if not NULL) 1 when that tile had too few source patches and
 * got the smooth fill instead. `worker` is one made by engine_patch.worker_new.
 */
int patch_worker_last_levels(const void *worker, int *fallback);

#endif
