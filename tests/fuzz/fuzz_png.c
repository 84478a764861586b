/* fuzz_png.c - libFuzzer target: the PNG reader through the io layer. */
#define FUZZ_FORMAT IO_FORMAT_PNG
#include "image_target.h"
