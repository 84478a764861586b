#!/bin/sh
# encode.sh BUILD - encoding off the critical path (issue 12, item 4), each
# figure a ratio against a reference run in the same invocation:
#  (a) a 4224 x 3168 photo (examples/ladybird.jpg upscaled, as PNG), thick
#      strokes (~2% mask), `tilepaint inpaint --engine telea` with default
#      options, whole process, against OpenCV imread + inpaint + imwrite
#      (scripts/bench/pipeline_cv.py); output sizes; and the same photo with
#      an empty mask (copied) against a rewrite (--png-level 6);
#  (b) a 40000 x 40000 RGB uncompressed BigTIFF tiled 512 with a sparse mask
#      (0.2%), telea, against `vips copy` to the same layout: time, peak RSS,
#      output layout. ~4.8 GB a file, made here and deleted (ENCODE_BIG=0
#      skips it);
#  (c) png_bench: the PNG writer's levels and strategies on the photo.
set -eu
BUILD=$(cd "${1:-build}" && pwd)
TP="$BUILD/tilepaint"
TOOL="$BUILD/tests/tptool"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
"$TOP/scripts/install-deps.sh" python3-opencv python3-numpy libvips-tools libtiff-tools time bc
W=$(mktemp -d "${TMPDIR:-/tmp}/tp-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
PY=/usr/bin/python3
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"

# wall seconds and peak RSS (KiB) of one command
timeit() {
	/usr/bin/time -f "%e %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
	cat "$W/t"
}
best() { sort -n | head -1; }

# ---- (a) the photo
$PY -c "import cv2, sys; a = cv2.imread(sys.argv[1]); cv2.imwrite(sys.argv[2], cv2.resize(a, (4224, 3168), interpolation=cv2.INTER_CUBIC))" \
	"$TOP/examples/ladybird.jpg" "$W/photo.png"
"$TOOL" mask "$W/mask.png" 4224 3168 line:0,300,4223,2900,20 line:400,3100,3900,100,18 \
	line:0,1500,4223,1700,15 line:2000,0,2300,3167,14 >/dev/null
"$TOOL" mask "$W/empty.png" 4224 3168 rect:0,0,0,0 >/dev/null
masked=$($PY -c "import cv2,sys; m=cv2.imread(sys.argv[1],0); print('%.2f' % (100.0*(m>0).mean()))" "$W/mask.png")
: > "$W/cv"; : > "$W/tp"; : > "$W/tp1"; : > "$W/copy"; : > "$W/rewrite"
for i in $(seq "$RUNS"); do   # interleaved: load drift hits all alike
	timeit $PY "$TOP/scripts/bench/pipeline_cv.py" "$W/photo.png" "$W/mask.png" "$W/cv.png" 5 | cut -d' ' -f1 >> "$W/cv"
	timeit "$TP" inpaint "$W/photo.png" "$W/mask.png" "$W/tp.png" --engine telea | cut -d' ' -f1 >> "$W/tp"
	timeit "$TP" inpaint "$W/photo.png" "$W/mask.png" "$W/tp1.png" --engine telea -j 1 | cut -d' ' -f1 >> "$W/tp1"
	timeit "$TP" inpaint "$W/photo.png" "$W/empty.png" "$W/copy.png" --engine telea | cut -d' ' -f1 >> "$W/copy"
	timeit "$TP" inpaint "$W/photo.png" "$W/empty.png" "$W/rw.png" --engine telea --png-level 6 | cut -d' ' -f1 >> "$W/rewrite"
done
cv=$(best < "$W/cv"); tp=$(best < "$W/tp"); tp1=$(best < "$W/tp1")
cmp -s "$W/photo.png" "$W/copy.png" || { echo "encode.sh: the empty-mask output is not a copy" >&2; exit 1; }
size() { stat -c %s "$1"; }
echo "(a) 4224x3168 photo (ladybird.jpg upscaled) as PNG, thick strokes ${masked}% of pixels, best of $RUNS, whole process"
printf "%-52s %8s %8s %12s\n" command seconds ratio "output bytes"
printf "%-52s %8.2f %8.2f %12s\n" "cv2.imread + cv2.inpaint TELEA r=5 + cv2.imwrite" "$cv" 1 "$(size "$W/cv.png")"
printf "%-52s %8.2f %8.2f %12s\n" "tilepaint inpaint --engine telea (default -j $(nproc))" "$tp" "$(echo "$tp / $cv" | bc -l)" "$(size "$W/tp.png")"
printf "%-52s %8.2f %8.2f %12s\n" "tilepaint inpaint --engine telea -j 1" "$tp1" "$(echo "$tp1 / $cv" | bc -l)" "$(size "$W/tp1.png")"
cmp -s "$W/tp.png" "$W/tp1.png" && echo "  -j 1 and -j $(nproc) outputs byte-identical" || echo "  -j 1 and -j $(nproc) outputs DIFFER"
cp_s=$(best < "$W/copy"); rw_s=$(best < "$W/rewrite")
printf "empty mask: copied %.2f s, rewritten (--png-level 6) %.2f s, ratio %.3f\n" "$cp_s" "$rw_s" "$(echo "$cp_s / $rw_s" | bc -l)"

# ---- (c) the PNG writer's levels (CPU time, which a loaded machine disturbs least)
cc -O2 -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$W/png_bench" "$TOP/scripts/bench/png_bench.c" \
	"$BUILD"/src/io/*.o "$BUILD"/src/util/*.o \
	$(pkg-config --libs libtiff-4 libpng libjpeg zlib libxxhash) -lpthread -lm
echo "(c) PNG deflate on the photo: bytes and CPU ms (all threads) of one encode, best of 1"
PNG_BENCH_CPU=1 "$W/png_bench" "$W/photo.png" "$W/pb.png" "$(nproc)" 1 "${PNG_MAXLEVEL:-9}"
rm -f "$W"/*.png

# ---- (b) the huge tiled BigTIFF
[ "${ENCODE_BIG:-1}" = 1 ] || exit 0
N=${BIG_SIDE:-40000}
echo "(b) ${N}x${N} RGB uncompressed BigTIFF tiled 512, sparse mask 0.2%, telea"
vips gaussnoise "$W/n.v" "$N" "$N" --mean 128 --sigma 40
vips cast "$W/n.v" "$W/c.v" uchar
vips bandjoin "$W/c.v $W/c.v $W/c.v" "$W/big.tif[tile,tile-width=512,tile-height=512,bigtiff,compression=none]"
rm -f "$W/n.v" "$W/c.v"
"$TOOL" mask "$W/big_mask.png" "$N" "$N" spots:0.2,9 >/dev/null
: > "$W/vips"; : > "$W/tpb"
# interleaved, best of BIG_RUNS: this machine's page-cache writes of 4.8 GB
# take anywhere from 1.4 to 8 s (the same dd, minutes apart), for both
BIG_RUNS=${BIG_RUNS:-3}
for i in $(seq "$BIG_RUNS"); do
	timeit vips copy "$W/big.tif" "$W/v.tif[tile,tile-width=512,tile-height=512,bigtiff,compression=none]" >> "$W/vips"
	rm -f "$W/v.tif"
	timeit "$TP" inpaint "$W/big.tif" "$W/big_mask.png" "$W/o.tif" --engine telea >> "$W/tpb"
	[ "$i" = "$BIG_RUNS" ] || rm -f "$W/o.tif"
done
vs=$(cut -d' ' -f1 "$W/vips" | best); ts=$(cut -d' ' -f1 "$W/tpb" | best)
rss=$(sort -n -k2 "$W/tpb" | tail -1 | cut -d' ' -f2)
printf "%-52s %8s %8s\n" command seconds ratio
printf "%-52s %8.2f %8.2f\n" "vips copy (same layout)" "$vs" 1
printf "%-52s %8.2f %8.2f   peak RSS %.0f MB\n" "tilepaint inpaint --engine telea" "$ts" "$(echo "$ts / $vs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
tiffinfo "$W/o.tif" 2>/dev/null | grep -m2 -E "Tile Width|Compression" | sed 's/^/  output: /'
"$TOOL" rawtiles "$W/big.tif" "$W/o.tif" | head -1 | sed 's/^/  tiles kept raw: /'
