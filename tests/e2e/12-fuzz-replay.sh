# The readers never crash, hang or leak on damaged files: seeds of every
# format and layout, truncated at many points and with bytes overwritten,
# replayed through the fuzz targets fuzz_png, fuzz_jpeg, fuzz_tiff, fuzz_mask,
# fuzz_safetensors, fuzz_ckpt and fuzz_inflate (our zlib decoder against
# zlib), with the committed corpus (ok-* must be
# accepted, bad-* refused) (under ASan in `make check SAN=1`); and the
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
	dims=$("$TOOL" info "$s" | cut -d' ' -f1,2)
	for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
		n=$((n + 1)); "$TOOL" mutate "$s" "in/m$n.${s##*.}" "$seed" $((seed % 4 + 1))
		"$TOOL" mask "in/m${n}_mask.png" $dims disk:3,3,2
	done
done
# the committed corpus: every target, and each seed named ok-* must be read to
# the end, each bad-* refused (replay exits 1 otherwise)
C="$TP_TOP/tests/fuzz/corpus"
for t in png jpeg tiff mask safetensors ckpt inflate; do
	timeout 120 "$TP_TOOLS/fuzz_$t" "$C/$t" >"$T/.replay" 2>&1 || { cat "$T/.replay"; fail "fuzz_$t on its corpus (exit $?)"; }
	grep -q "^[1-9][0-9]* inputs:" "$T/.replay" || fail "fuzz_$t replayed nothing"
done
"$TP_TOOLS/fuzz_mask" "$C/png" "$C/tiff" "$C/jpeg" >/dev/null || fail "fuzz_mask on the image corpus"
# the generated damaged files, through the reader of their format
timeout 120 "$TP_TOOLS/fuzz_png" seeds/*.png in/*.png >/dev/null || fail "fuzz_png on damaged files"
timeout 120 "$TP_TOOLS/fuzz_jpeg" seeds/*.jpg in/*.jpg >/dev/null || fail "fuzz_jpeg on damaged files"
timeout 120 "$TP_TOOLS/fuzz_tiff" seeds/*.tif in/*.tif >/dev/null || fail "fuzz_tiff on damaged files"
# the real binary: every truncated file is refused (one line naming it, a
# failed job, no output, exit 65), each seed's truncations sharing one mask of
# its size; the mutated ones may decode (a changed sample is still an image)
# but never crash, and each is done or refused with one line
for s in seeds/*; do
	b=$(basename "$s" | tr . -)
	mkdir "cut-$b"
	set -- $("$TOOL" info "$s")
	"$TOOL" mask "m-$b.png" "$1" "$2" disk:3,3,2
	size=$(wc -c < "$s") k=0
	for cut in 8 33 100 $((size / 3)) $((size / 2)) $((size - 20)); do
		[ "$cut" -gt 0 ] && [ "$cut" -lt "$size" ] || continue
		k=$((k + 1)); "$TOOL" corrupt "$s" "cut-$b/t$k.${s##*.}" "$cut"
	done
	expect_exit 65 timeout 120 "$TP" run "cut-$b" --mask "m-$b.png" -o "out-$b" --engine telea -q
	for f in cut-$b/*; do
		[ "$(grep -c "$f" "$T/.stderr")" -eq 1 ] || { cat "$T/.stderr"; fail "$f: not exactly one error line"; }
		[ ! -e "out-$b/${f##*/}" ] || fail "$f: a truncated file gave an output"
	done
	eq "$(sql "out-$b/.tilepaint.db" "select count(*) from jobs where state = 3")" "$k" "$b: failed jobs"
done
set +e
timeout 120 "$TP" run in -o out --engine telea -q 2>"$T/.stderr"
rc=$?
set -e
[ $rc -eq 0 ] || [ $rc -eq 65 ] || { cat "$T/.stderr"; fail "run on damaged files exited $rc"; }
grep -q "AddressSanitizer\|runtime error\|Segmentation" "$T/.stderr" && fail "crash report"
for f in in/m*; do
	case "$f" in *_mask.png) continue ;; esac
	e=$(grep -c "$f:" "$T/.stderr" || true)
	if [ -e "out/${f#in/}" ]; then
		[ "$e" -eq 0 ] || fail "$f: done and reported as an error"
	else
		[ "$e" -eq 1 ] || { cat "$T/.stderr"; fail "$f: neither done nor refused with one line ($e)"; }
	fi
done
echo "$n damaged files replayed"
