# JPEG in, JPEG out: every MCU the mask does not touch keeps the input's DCT
# coefficients exactly (checked with libjpeg directly, tests/tools/jpegcheck),
# and decodes to the same pixels; the input's sampling, quantisation tables,
# progressive mode, restart interval and markers are kept; the output is no
# bigger than 1.10x the input. Inputs are made by the real encoder (cjpeg,
# libjpeg-turbo-progs) in every layout, with markers added by wrjpgcom and
# exiftool. --jpeg-quality re-encodes the whole picture; a truncated JPEG is
# refused (65, one line, no output).
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" libjpeg-turbo-progs libimage-exiftool-perl
J="$TP_TOOLS/jpegcheck"
mkdir in
"$TOOL" gen base.png 333 251 3 8 7
"$TOOL" gen gray.png 333 251 1 8 3
"$TOOL" gen small.png 35 21 3 8 5
"$J" ppm base.png base.ppm
"$J" ppm gray.png gray.pgm
"$J" ppm small.png small.ppm
cjpeg -quality 90 -sample 1x1 -outfile in/s444.jpg base.ppm
cjpeg -quality 85 -sample 2x1 -outfile in/s422.jpg base.ppm
cjpeg -quality 88 -sample 2x2 -outfile in/s420.jpg base.ppm
cjpeg -quality 75 -sample 1x1 -progressive -outfile in/prog.jpg base.ppm
cjpeg -quality 80 -sample 2x2 -progressive -restart 3 -outfile in/progrst.jpg base.ppm
cjpeg -quality 92 -sample 2x2 -restart 5B -outfile in/rst.jpg base.ppm
cjpeg -quality 85 -sample 2x2 -arithmetic -outfile in/arith.jpg base.ppm
cjpeg -quality 85 -grayscale -outfile in/gray.jpg gray.pgm
cjpeg -quality 85 -sample 2x2 -outfile in/small.jpg small.ppm
# markers: a comment, EXIF (with GPS), XMP and IPTC
wrjpgcom -comment "scan 42, shelf 7" in/s420.jpg >in/tagged.jpg
exiftool -q -overwrite_original -Artist="T. Paint" -Make=Scanner -Model=X1 \
	-GPSLatitude=48.85 -GPSLatitudeRef=N -XMP-dc:Title="dune" -IPTC:Keywords=test in/tagged.jpg
for f in s444 s422 s420 prog progrst rst arith gray tagged; do
	"$TOOL" mask "in/${f}_mask.png" 333 251 disk:160,120,25 line:10,200,300,230,3
done
"$TOOL" mask in/small_mask.png 35 21 disk:17,10,4

note "lossless outside the mask, every layout"
expect_exit 0 "$TP" run in -o out --engine telea -q
for f in s444 s422 s420 prog progrst rst arith gray tagged small; do
	expect_exit 0 "$J" coefs "in/$f.jpg" "out/$f.jpg" "in/${f}_mask.png"
	grep_out "touched [1-9]"
	expect_exit 0 "$J" pixels "in/$f.jpg" "out/$f.jpg" "in/${f}_mask.png"
	eq "$("$J" layout "out/$f.jpg")" "$("$J" layout "in/$f.jpg")" "$f: layout"
	eq "$("$J" markers "out/$f.jpg")" "$("$J" markers "in/$f.jpg")" "$f: markers"
	in_size=$(stat -c %s "in/$f.jpg")
	out_size=$(stat -c %s "out/$f.jpg")
	[ $((out_size * 100)) -le $((in_size * 110)) ] ||
		fail "$f: output $out_size bytes, input $in_size: more than 1.10x"
done
eq "$("$J" markers out/tagged.jpg | wc -l)" 4 "tagged: EXIF, XMP, IPTC and COM markers"
exiftool -s3 -Artist -GPSLatitude -Title -Keywords -Comment out/tagged.jpg >tags.out
grep -q "^T. Paint$" tags.out && grep -q "^dune$" tags.out && grep -q "^scan 42, shelf 7$" tags.out ||
	fail "tags not read back by exiftool: $(cat tags.out)"

note "the same bytes at -j 1, and again"
expect_exit 0 "$TP" run in -o out1 --engine telea -q -j 1
for f in s420 prog tagged; do cmp "out/$f.jpg" "out1/$f.jpg" || fail "$f differs between -j 2 and -j 1"; done

note "--jpeg-quality re-encodes the whole picture"
expect_exit 0 "$TP" run in -o outq --engine telea -q --jpeg-quality 95
expect_exit 1 "$J" coefs in/s420.jpg outq/s420.jpg in/s420_mask.png
grep_err "differs"

note "a truncated JPEG is refused, not repaired"
mkdir bad
"$TOOL" corrupt in/s420.jpg bad/cut.jpg 9000
cp in/s420_mask.png bad/cut_mask.png
expect_exit 65 "$TP" run bad -o outbad --engine telea
eq "$(grep -c 'error' "$T/.stderr")" 1 "one error line"
grep_err "bad/cut.jpg: corrupt or truncated JPEG"
[ ! -e outbad/cut.jpg ] || fail "a partial output was left"
no_temps outbad
eq "$(sql outbad/.tilepaint.db "select count(*) from jobs where state = 3")" 1 "failed job"
