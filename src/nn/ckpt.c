/*
 * ckpt.c - PyTorch .ckpt (zip + pickle) reader. Not implemented yet: such
 * files are rejected with a hint to convert them once with
 * scripts/lama-convert.py.
 */
#include "weights.h"

tp_status nn_ckpt_parse(struct nn_weights *w)
{
	return tp_err(TP_EMODEL, "%s: PyTorch checkpoints (.ckpt) are not read directly by this "
		      "build; convert once with scripts/lama-convert.py FILE.ckpt FILE.safetensors",
		      w->path);
}
