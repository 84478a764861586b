# The JPEG keep writer's fast paths (issue 13): a baseline input is decoded
# once (the writer borrows the reader's coefficients), and written with the
# input's own Huffman tables when they code every symbol the output needs,
# else with optimised tables. Either way every untouched MCU keeps its
# coefficients, the output decodes without a warning (a symbol missing from a
# table would be written as no bits at all), and it is byte-identical at -j 1.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" libjpeg-turbo-progs
J="$TP_TOOLS/jpegcheck"
mkdir in
# odd sizes (dummy blocks at the right and bottom edges), restart markers,
# inputs with standard and with optimised tables
i=0
for size in "35 21" "97 77" "203 48"; do
	set -- $size
	for samp in 2x2 2x1 1x2 1x1; do
		i=$((i + 1))
		"$TOOL" gen "g$i.png" "$1" "$2" 3 8 "$i"
		"$J" ppm "g$i.png" "g$i.ppm"
		opt=; [ $((i % 2)) -eq 0 ] && opt=-optimize
		rst=; [ $((i % 3)) -eq 0 ] && rst="-restart 1"
		# shellcheck disable=SC2086
		cjpeg -quality $((70 + i)) -sample "$samp" $opt $rst -outfile "in/c$i.jpg" "g$i.ppm"
		"$TOOL" mask "in/c${i}_mask.png" "$1" "$2" "disk:$(($1 / 2)),$(($2 / 2)),6" "spots:0.5,$i"
	done
done
"$TOOL" gen gray.png 97 77 1 8 9
"$J" ppm gray.png gray.pgm
cjpeg -quality 80 -grayscale -optimize -restart 2 -outfile in/gray.jpg gray.pgm
"$TOOL" mask in/gray_mask.png 97 77 disk:40,40,9
# two flat halves, optimised: its tables code only flat blocks and one step,
# so the fill across the step needs symbols they lack
for y in $(seq 101); do
	head -c 300 /dev/zero
	head -c 309 /dev/zero | tr '\0' '\377'
done >halves.raw
"$TOOL" fromraw halves.raw 203 101 3 halves.png
"$J" ppm halves.png halves.ppm
cjpeg -quality 90 -sample 2x2 -optimize -restart 1 -outfile in/halves.jpg halves.ppm
"$TOOL" mask in/halves_mask.png 203 101 disk:100,50,20

note "every case: untouched MCUs kept, decodes cleanly"
expect_exit 0 "$TP" run in -o out --engine telea -v
cp "$T/.stderr" run.log
for f in in/*.jpg; do
	n=$(basename "$f" .jpg)
	expect_exit 0 "$J" coefs "$f" "out/$n.jpg" "in/${n}_mask.png"
	grep_out "touched [1-9]"
	djpeg -outfile /dev/null "out/$n.jpg" 2>djpeg.err || fail "$n: djpeg: $(cat djpeg.err)"
	[ ! -s djpeg.err ] || fail "$n: djpeg warns: $(cat djpeg.err)"
done
note "the reader's coefficients are borrowed, the input's tables used when they suffice"
eq "$(grep -c "JPEG: .*MCUs re-encoded" run.log)" 14 "one line per JPEG"
eq "$(grep -c "(the reader's coefficients)" run.log)" 14 "every JPEG decoded once"
grep -q "c1.jpg: JPEG: .*Huffman tables the input's" run.log || fail "c1: not its own tables"
grep -q "halves.jpg: JPEG: .*Huffman tables optimised" run.log || fail "halves: not optimised"

note "the same bytes at -j 1"
expect_exit 0 "$TP" run in -o out1 --engine telea -q -j 1
for f in out/*.jpg; do cmp "$f" "out1/$(basename "$f")" || fail "$f differs at -j 1"; done

note "progressive input: coefficients read again, tables optimised"
cjpeg -quality 80 -sample 2x2 -progressive -outfile prog.jpg g1.ppm
mkdir pin && cp prog.jpg pin/ && cp in/c1_mask.png pin/prog_mask.png
expect_exit 0 "$TP" run pin -o pout --engine telea -v
grep_err "(coefficients read again); Huffman tables optimised"
expect_exit 0 "$J" coefs pin/prog.jpg pout/prog.jpg pin/prog_mask.png
