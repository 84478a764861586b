/* fuzz_jpeg.c - libFuzzer target: the JPEG reader through the io layer. */
#define FUZZ_FORMAT IO_FORMAT_JPEG
#include "image_target.h"
