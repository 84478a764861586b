/* fuzz_tiff.c - libFuzzer target: the TIFF reader through the io layer. */
#define FUZZ_FORMAT IO_FORMAT_TIFF
#include "image_target.h"
