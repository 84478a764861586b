# The readers never crash, hang or leak on damaged files: seeds of every
# format and layout, truncated at many points and with bytes overwritten,
# replayed through fuzz_raster (under ASan in `make check SAN=1`); and the
# real binary answers each with one error line and exit 65, never a crash.
. "$(dirname "$0")/common.sh"
mkdir seeds in
"$TOOL" gen seeds/rgb.png 61 47 3 8 1
"$TOOL" gen seeds/ga16.png 33 29 2 16 2
"$TOOL" gen seeds/rgba.tif 45 31 4 8 3
"$TOOL" gen seeds/g16.tif 40 40 1 16 4
"$TOOL" gen seeds/rgb.jpg 64 48 3 8 5
"$TOOL" gen seeds/gray.jpg 30 50 1 8 6
n=0
for s in seeds/*; do
	size=$(wc -c < "$s")
	for cut in 8 33 100 $((size / 3)) $((size / 2)) $((size - 20)); do
		[ "$cut" -gt 0 ] && [ "$cut" -lt "$size" ] || continue
		n=$((n + 1)); "$TOOL" corrupt "$s" "in/c$n.${s##*.}" "$cut"
	done
	for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
		n=$((n + 1)); "$TOOL" mutate "$s" "in/m$n.${s##*.}" "$seed" $((seed % 4 + 1))
	done
done
timeout 120 "$TP_TOOLS/fuzz_raster" seeds/* in/* || fail "fuzz_raster failed on the corpus (exit $?)"
# the real binary, on a sample of the damaged files
for f in in/c1.png in/c3.png in/m10.png in/c20.tif in/m40.jpg; do
	[ -e "$f" ] || continue
	"$TOOL" mask "${f%.*}_mask.png" 61 47 disk:5,5,3
done
set +e
timeout 120 "$TP" run in -o out --engine telea -q 2>"$T/.stderr"
rc=$?
set -e
[ $rc -eq 0 ] || [ $rc -eq 65 ] || { cat "$T/.stderr"; fail "run on damaged files exited $rc"; }
grep -q "AddressSanitizer\|runtime error\|Segmentation" "$T/.stderr" && fail "crash report"
echo "$n damaged files replayed"
