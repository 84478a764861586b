/* fuzz_ckpt.c - libFuzzer target: the .ckpt zip and pickle reader. */
#define FUZZ_CKPT 1
#include "weights_target.h"
