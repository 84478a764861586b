/* fuzz_safetensors.c - libFuzzer target: the safetensors header and tensor table. */
#define FUZZ_CKPT 0
#include "weights_target.h"
