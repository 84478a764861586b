/* main.c - placeholder; the command table lands with the pipeline. */
#include "util/tp.h"
int main(void) { printf("tilepaint %s\n", TP_VERSION); return 0; }
