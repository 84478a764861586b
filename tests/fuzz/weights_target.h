/*
 * weights_target.h - the body of fuzz_safetensors and fuzz_ckpt: a model
 * file opened as tilepaint opens --model (strict, then lenient for .ckpt),
 * and every tensor it lists read end to end, as the network's loader does.
 * Define FUZZ_CKPT to 1 for zip checkpoints ("PK" magic), 0 for safetensors.
 */
#include "fuzz.h"
#include "src/nn/weights.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nn_weights *w = NULL;
	char path[64];
	tp_status s;
	int fd, zip = size >= 2 && data[0] == 'P' && data[1] == 'K';

	fuzz_outcome = FUZZ_SKIPPED;
	if (zip != FUZZ_CKPT)
		return 0;
	if ((fd = fuzz_memfile(data, size, path, sizeof path)) < 0)
		return 0;
	s = nn_weights_open_flags(path, FUZZ_CKPT ? NN_WEIGHTS_PICKLE_LENIENT : 0, &w);
	if (s == TP_OK) {
		volatile uint8_t sum = 0;
		for (size_t i = 0; i < w->n; i++) {
			const struct nn_wtensor *t = nn_weights_find(w, w->t[i].name);
			if (t != &w->t[i])
				__builtin_trap();   /* the table lost a name */
			for (uint64_t b = 0; b < t->nbytes; b += 4096)
				sum ^= t->data[b];
			if (t->nbytes)
				sum ^= t->data[t->nbytes - 1];
		}
		(void)sum;
	}
	nn_weights_close(w);
	close(fd);
	return fuzz_done(s);
}
