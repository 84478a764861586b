#!/bin/sh
# sign.sh BUILD - what content signatures cost: the "sign" stage (XXH3 of every
# byte of the input and the mask, done when a file's identity is new or changed)
# as a share of a whole `tilepaint run --engine telea` of the same image, in the
# same invocation; and the re-run after `touch` (identity changed, content not:
# hashed, not redone) against the first run. Target: signing < 3% of the run.
set -eu
BUILD=$(cd "${1:-build}" && pwd)
TP="$BUILD/tilepaint"
TOOL="$BUILD/tests/tptool"
RUNS=${RUNS:-3}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
"$TOP/scripts/install-deps.sh" bc sqlite3
W=$(mktemp -d "${TMPDIR:-/tmp}/tp-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir "$W/in"
# 4224 x 3168 (a 13-megapixel photo), 2% mask of spots and a thick stroke
"$TOOL" gen "$W/in/photo.png" 4224 3168 3 8 11 >/dev/null
"$TOOL" gen "$W/in/photo.tif" 4224 3168 3 8 12 >/dev/null
for f in photo.png photo.tif; do
	"$TOOL" mask "$W/in/${f%.*}_mask.png" 4224 3168 spots:1.5,3 line:0,200,4223,3000,25 >/dev/null
done
ms() { date +%s%N | awk '{printf "%.1f", $1 / 1e6}'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-10s %10s %10s %8s %12s %8s\n" input "run ms" "sign ms" share "touch ms" ratio
for f in photo.png photo.tif; do
	best_run=0 best_sign=0 best_touch=0
	for i in $(seq "$RUNS"); do
		rm -rf "$W/out"
		t0=$(ms); "$TP" run "$W/in/$f" -o "$W/out" --engine telea -q; t1=$(ms)
		sign=$(sqlite3 "$W/out/.tilepaint.db" "select coalesce(sum(ms), 0) from timings where stage = 'sign'")
		touch "$W/in/$f" "$W/in/${f%.*}_mask.png"
		t2=$(ms); "$TP" run "$W/in/$f" -o "$W/out" --engine telea -q; t3=$(ms)
		run=$(echo "$t1 - $t0" | bc); touch_ms=$(echo "$t3 - $t2" | bc)
		if [ "$i" -eq 1 ] || [ "$(echo "$run < $best_run" | bc)" -eq 1 ]; then
			best_run=$run best_sign=$sign best_touch=$touch_ms
		fi
	done
	printf "%-10s %10.1f %10.1f %7.2f%% %12.1f %8.3f\n" "$f" "$best_run" "$best_sign" \
		"$(echo "100 * $best_sign / $best_run" | bc -l)" "$best_touch" \
		"$(echo "$best_touch / $best_run" | bc -l)"
done
echo "(fastest of $RUNS runs each; share = sign / whole run; ratio = re-run after touch / first run)"
