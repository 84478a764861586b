# EXIF orientation: outputs keep the stored pixel order and the orientation
# tag, for JPEG and PNG; a mask of the stored size is used as it is, one of
# the displayed size is turned to fit (orientations 5-8), and on a square
# image a mask with its own orientation tag is taken as stored that way, one
# without as displayed; a mask that fits neither is refused with both sizes.
# The displayed masks are made by tests/tools/jpegcheck's own reading of the
# EXIF definitions, which is first checked against jpegtran's transforms.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" libjpeg-turbo-progs libimage-exiftool-perl
J="$TP_TOOLS/jpegcheck"
"$TOOL" gen base.png 64 48 3 8 4
"$J" ppm base.png base.ppm
cjpeg -quality 90 -sample 1x1 -outfile base.jpg base.ppm
"$TOOL" gen sq.png 48 48 3 8 6
"$J" ppm sq.png sq.ppm
cjpeg -quality 90 -sample 1x1 -outfile sq.jpg sq.ppm

note "the test's orientation oracle agrees with jpegtran"
for o in 2 3 4 5 6 7 8; do
	case $o in
	2) t="-flip horizontal" ;; 3) t="-rotate 180" ;; 4) t="-flip vertical" ;;
	5) t="-transpose" ;; 6) t="-rotate 90" ;; 7) t="-transverse" ;; 8) t="-rotate 270" ;;
	esac
	# shellcheck disable=SC2086
	jpegtran -perfect $t -outfile "t$o.jpg" base.jpg
	djpeg -outfile "t$o.ppm" "t$o.jpg"
	"$J" orient "$o" base.jpg "d$o.ppm"
	# (the transposing ones decode within 2 levels: libjpeg's IDCT rounds rows and columns apart)
	expect_exit 0 "$J" ppmnear "t$o.ppm" "d$o.ppm" 2
done

orientation() { exiftool -s3 -n -Orientation "$1"; }

note "non-square JPEG, orientations 1-8: stored masks, and displayed ones for 5-8"
mkdir -p st dp
"$TOOL" mask stored_mask.png 64 48 rect:6,30,20,10 disk:50,12,6
for o in 1 2 3 4 5 6 7 8; do
	cp base.jpg "st/o$o.jpg"
	exiftool -q -overwrite_original -Orientation#=$o -n "st/o$o.jpg"
	cp stored_mask.png "st/o${o}_mask.png"
	if [ $o -ge 5 ]; then
		cp "st/o$o.jpg" "dp/o$o.jpg"
		"$J" orient "$o" stored_mask.png "dp/o${o}_mask.png"
		eq "$("$TOOL" info "dp/o${o}_mask.png" | cut -d' ' -f1-2)" "48 64" "displayed mask size"
	fi
done
expect_exit 0 "$TP" run st -o st_out --engine telea -q
expect_exit 0 "$TP" run dp -o dp_out --engine telea -q
for o in 1 2 3 4 5 6 7 8; do
	eq "$("$TOOL" info "st_out/o$o.jpg" | cut -d' ' -f1-2)" "64 48" "o$o: stored size kept"
	eq "$(orientation "st_out/o$o.jpg")" "$o" "o$o: orientation tag kept"
	expect_exit 0 "$J" coefs "st/o$o.jpg" "st_out/o$o.jpg" stored_mask.png
	grep_out "touched [1-9]"
	if [ $o -ge 5 ]; then
		cmp "st_out/o$o.jpg" "dp_out/o$o.jpg" || fail "o$o: the displayed mask was not turned to the stored one"
	fi
done

note "PNG keeps its stored order and eXIf orientation too"
mkdir pn
"$TOOL" gen pn/p.png 64 48 3 8 9
exiftool -q -overwrite_original -Orientation#=6 -n pn/p.png
"$J" orient 6 stored_mask.png pn/p_mask.png
expect_exit 0 "$TP" run pn -o pn_out --engine telea -q
eq "$(orientation pn_out/p.png)" 6 "PNG orientation tag kept"
expect_exit 0 "$TOOL" unmasked pn/p.png pn_out/p.png stored_mask.png

note "square: a mask's own orientation tag is honoured, an untagged one is displayed"
mkdir -p sqt squ
for o in 3 6 8; do
	cp sq.jpg "sqt/s$o.jpg"
	exiftool -q -overwrite_original -Orientation#=$o -n "sqt/s$o.jpg"
	cp "sqt/s$o.jpg" "squ/s$o.jpg"
	"$TOOL" mask "sqt/s${o}_mask.png" 48 48 rect:4,30,14,8 disk:36,10,5
	exiftool -q -overwrite_original -Orientation#=$o -n "sqt/s${o}_mask.png"
	"$J" orient "$o" "sqt/s${o}_mask.png" "squ/s${o}_mask.png"
done
expect_exit 0 "$TP" run sqt -o sqt_out --engine telea -q
expect_exit 0 "$TP" run squ -o squ_out --engine telea -q
for o in 3 6 8; do
	cmp "sqt_out/s$o.jpg" "squ_out/s$o.jpg" || fail "s$o: tagged and displayed masks disagree"
	expect_exit 0 "$J" coefs "sqt/s$o.jpg" "sqt_out/s$o.jpg" "sqt/s${o}_mask.png"
done

note "a mask that fits neither way"
mkdir bad
cp st/o6.jpg bad/b.jpg
"$TOOL" mask bad/b_mask.png 50 50 disk:25,25,5
expect_exit 65 "$TP" run bad -o bad_out --engine telea
grep_err "bad/b.jpg: the mask bad/b_mask.png is 50x50 but the image is 64x48 as stored (48x64 as displayed, EXIF orientation 6)"
eq "$(grep -c 'error' "$T/.stderr")" 1 "one error line"
