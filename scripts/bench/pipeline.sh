#!/bin/sh
# pipeline.sh BUILD - whole-process time of `tilepaint inpaint --engine telea -j 1`
# against OpenCV's cv2.inpaint(INPAINT_TELEA) (imread + inpaint + imwrite) on the
# same >= 4000 x 3000 image and ~5% mask, in the same invocation, as a ratio;
# then tilepaint's peak RSS on 12000 x 9000 and 12000 x 18000 RGB PNGs with a 1% mask.
#
# Image: mate-backgrounds' Elephants_5640x3172.jpg (a scanned painting, GPL-2+),
# converted to PNG once. OpenCV writes PNG at zlib level 1 by default, so tilepaint
# is timed at --png-level 1 too (and, for reference, with its default encoding).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
TP="$BUILD/tilepaint"
TOOL="$BUILD/tests/tptool"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
"$TOP/scripts/install-deps.sh" python3-opencv python3-numpy mate-backgrounds time bc
W=$(mktemp -d "${TMPDIR:-/tmp}/tp-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
SRC=/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg
/usr/bin/python3 -c "import cv2, sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))" "$SRC" "$W/img.png"
"$TOOL" mask "$W/mask.png" 5640 3172 spots:5.5,7 line:0,100,5639,3000,9 >/dev/null
masked=$(/usr/bin/python3 -c "import cv2,sys; m=cv2.imread(sys.argv[1],0); print('%.2f' % (100.0*(m>0).mean()))" "$W/mask.png")

# wall seconds of one command (GNU time), peak RSS in KiB to $W/rss
timeit() {
	/usr/bin/time -f "%e %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
	cut -d' ' -f1 "$W/t"; cut -d' ' -f2 "$W/t" > "$W/rss"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$W/tp1"; : > "$W/tp6"; : > "$W/cv"
for i in $(seq "$RUNS"); do   # interleaved, so drift in machine load hits both alike
	timeit "$TP" inpaint "$W/img.png" "$W/mask.png" "$W/out1.png" --engine telea --radius 5 -j 1 --png-level 1 >> "$W/tp1"
	timeit "$TP" inpaint "$W/img.png" "$W/mask.png" "$W/out6.png" --engine telea --radius 5 -j 1 >> "$W/tp6"
	timeit /usr/bin/python3 "$TOP/scripts/bench/pipeline_cv.py" "$W/img.png" "$W/mask.png" "$W/cv.png" 5 >> "$W/cv"
done
tp1=$(median < "$W/tp1"); tp6=$(median < "$W/tp6"); cv=$(median < "$W/cv")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "image 5640x3172 RGB PNG, mask ${masked}% of pixels; median of $RUNS runs, whole process"
printf "%-44s %8s %8s\n" "command" "seconds" "ratio"
printf "%-44s %8.2f %8.2f\n" "cv2.imread + cv2.inpaint TELEA r=5 + imwrite" "$cv" 1
printf "%-44s %8.2f %8.2f\n" "tilepaint inpaint --engine telea -j 1 (png 1)" "$tp1" "$(echo "$tp1 / $cv" | bc -l)"
printf "%-44s %8.2f %8.2f\n" "tilepaint inpaint --engine telea -j 1 (png dflt)" "$tp6" "$(echo "$tp6 / $cv" | bc -l)"

# memory: bounded by the band, not the image
for h in 9000 18000; do
	"$TOOL" gen "$W/big$h.png" 12000 $h 3 8 3 >/dev/null
	"$TOOL" mask "$W/big${h}_mask.png" 12000 $h spots:1,3 >/dev/null
	timeit "$TP" inpaint "$W/big$h.png" "$W/big${h}_mask.png" "$W/big${h}_out.png" --engine telea -j 2 --png-level 1 > "$W/time$h"
	cp "$W/rss" "$W/rss$h"
	rm -f "$W/big$h.png" "$W/big${h}_out.png"
done
r9=$(cat "$W/rss9000"); r18=$(cat "$W/rss18000")
echo "peak RSS, tilepaint inpaint --engine telea -j 2, RGB PNG, 1% mask (decoded 12000x18000 = 648 MB):"
printf "  12000 x  9000: %6.1f MB  (%s s)\n" "$(echo "$r9 / 1024" | bc -l)" "$(cat "$W/time9000")"
printf "  12000 x 18000: %6.1f MB  (%s s)   ratio to 9000 rows: %.3f\n" "$(echo "$r18 / 1024" | bc -l)" "$(cat "$W/time18000")" "$(echo "$r18 / $r9" | bc -l)"
