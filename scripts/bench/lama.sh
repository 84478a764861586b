#!/bin/sh
# lama.sh [BUILD] - big-lama forward pass on one 512x512 tile: the native C
# runtime (src/nn) against PyTorch CPU (Debian python3-torch, eval, no grad),
# the same random weights with the official shapes, at 1 and 2 threads, in one
# invocation; medians of LAMA_RUNS runs (default 5) after a warm-up, the ratio
# C / PyTorch, OpenBLAS sgemm throughput measured in the same run, the forward
# pass's GFLOP/s as a share of it, and the peak RSS of a 1-thread C pass.
#
# OpenBLAS picks its kernels when it loads: on CPUs with AVX-512 this script
# sets OPENBLAS_CORETYPE=SkylakeX (Debian's OpenBLAS 0.3.21 does not know
# Zen 4/5 and would fall back to older kernels) and also runs the C pass once
# with the library's own choice, to show the difference. Set LAMA_CORE to
# override (empty = the library's choice). Needs python3-torch; skipped without.
set -eu
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${LAMA_RUNS:-5}
SIZE=${LAMA_SIZE:-512}
PY=/usr/bin/python3
cd "$TOP"
"$TOP/scripts/install-deps.sh" python3-torch python3-numpy || true
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
	echo "lama: skipped (needs python3-torch and python3-numpy: apt-get install python3-torch)"
	exit 0
fi
[ -f "$BUILD/src/nn/lama.o" ] || make -j2 BUILD="$BUILD" >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lama-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck disable=SC2046
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -ffp-contract=off -I. $(pkg-config --cflags openblas fftw3f) \
	-o "$tmp/lama_bench" scripts/bench/lama_bench.c "$BUILD"/src/nn/*.o "$BUILD"/src/util/*.o \
	$(pkg-config --libs openblas fftw3f) -lpthread -lm
$PY scripts/lama-reference.py random "$tmp/big.safetensors"

if [ -z "${LAMA_CORE+x}" ]; then
	if grep -q avx512f /proc/cpuinfo 2>/dev/null; then LAMA_CORE=SkylakeX; else LAMA_CORE=; fi
fi
run_c() { # threads runs [coretype]
	if [ -n "${3:-}" ]; then
		OPENBLAS_CORETYPE=$3 LAMA_BENCH_SGEMM=1 "$tmp/lama_bench" "$tmp/big.safetensors" "$SIZE" "$1" "$2"
	else
		env -u OPENBLAS_CORETYPE LAMA_BENCH_SGEMM=1 "$tmp/lama_bench" "$tmp/big.safetensors" "$SIZE" "$1" "$2"
	fi
}

echo "lama: ${SIZE}x${SIZE} big-lama forward, $RUNS runs each, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
out="$tmp/results"
: >"$out"
for th in 1 2; do
	run_c "$th" "$RUNS" "$LAMA_CORE" >>"$out"
done
# the library's own kernel choice, for comparison (fewer runs: it is slow)
run_c 2 $((RUNS < 3 ? RUNS : 3)) "" | sed 's/^c /cdefault /' >>"$out"
# peak RSS of one tile on one thread, without the sgemm test's matrices
env OPENBLAS_CORETYPE="${LAMA_CORE:-}" "$tmp/lama_bench" "$tmp/big.safetensors" "$SIZE" 1 1 \
	| sed 's/^c /crss /' >>"$out"
$PY scripts/lama-reference.py bench "$tmp/big.safetensors" --size "$SIZE" --threads 1,2 \
	--runs "$RUNS" >>"$out"
echo "lama: load after: $(cut -d' ' -f1-3 /proc/loadavg)"

awk '
function kv(line, key,   n, i, a, b) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++) { split(a[i], b, "="); if (b[1] == key) return b[2] }
	return ""
}
$1 == "c"        { th = kv($0, "threads"); c[th] = $0 }
$1 == "cdefault" { d = $0 }
$1 == "crss"     { r = $0 }
$1 == "torch"    { th = kv($0, "threads"); t[th] = kv($0, "median_s") }
END {
	printf "\n| threads | C median s | PyTorch median s | C / PyTorch | C GFLOP/s | sgemm 2048^3 GFLOP/s | C share of sgemm | FFC blocks GFLOP/s (share) | OpenBLAS core |\n"
	printf "|---|---|---|---|---|---|---|---|---|\n"
	for (th = 1; th <= 2; th++) {
		cm = kv(c[th], "median_s"); g = kv(c[th], "gflops"); s = kv(c[th], "sgemm2048_gflops")
		b = kv(c[th], "blocks_gflops")
		printf "| %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.0f%% | %.1f (%.0f%%) | %s |\n", th, cm, t[th], cm / t[th], g, s, 100 * g / s, b, 100 * b / s, kv(c[th], "core")
	}
	printf "\nGFLOP/s count the direct-convolution FLOPs (SPEC §6: 439.8 GFLOP per 512^2 pass); the FFC blocks run their 3x3 convs as Winograd F(4x4,3x3), which does 4x fewer multiplies there, so their effective rate can exceed sgemm'"'"'s.\n"
	printf "\nC at 2 threads with OpenBLAS core %s: median %.3f s (%.1f GFLOP/s; sgemm %.1f GFLOP/s)\n", kv(d, "core"), kv(d, "median_s"), kv(d, "gflops"), kv(d, "sgemm2048_gflops")
	printf "C stages at 2 threads (s): encode %s, FFC blocks %s, decode %s, final conv %s\n", kv(c[2], "encode_s"), kv(c[2], "blocks_s"), kv(c[2], "decode_s"), kv(c[2], "final_s")
	printf "model load (mmap, check, fold BN): %s ms; folded weights %s MB\n", kv(r, "load_ms"), kv(r, "weights_mb")
	printf "peak RSS, one %sx%s tile, 1 thread, whole process: %s MB\n", kv(r, "size"), kv(r, "size"), kv(r, "peak_rss_mb")
}' "$out"
