/*
 * harmonic_int.h - internals of the harmonic engine exposed to its unit test
 * only (not part of the engine interface).
 */
#ifndef HARMONIC_INT_H
#define HARMONIC_INT_H

/*
 * Conjugate-gradient iterations (summed over channels) of the last tile the
 * worker filled, and in *used_dct (if not NULL) 1 when that tile used the
 * DCT preconditioner, 0 for Jacobi. `worker` is one made by
 * engine_harmonic.worker_new. Not thread-safe against that worker's inpaint.
 */
long harmonic_worker_last_iters(const void *worker, int *used_dct);
/* Groups (independent holes) of the last tile solved by the direct solver. */
long harmonic_worker_last_direct(const void *worker);

#endif
