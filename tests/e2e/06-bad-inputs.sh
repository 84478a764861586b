# Each bad input gives one clear error line naming it, is recorded as failed,
# leaves nothing at its output path, and the good files are still done: exit 65.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/good1.png 300 200 3 8 1
"$TOOL" gen in/good2.png 300 200 3 8 2
"$TOOL" gen full.png 300 200 3 8 3
"$TOOL" corrupt full.png in/truncated.png 3000
echo "this is not an image" > in/text.png
"$TOOL" gen in/wrongsize.png 300 200 3 8 4
"$TOOL" gen in/nomask.png 300 200 3 8 5
for f in good1 good2 truncated text; do "$TOOL" mask in/${f}_mask.png 300 200 disk:150,100,20; done
"$TOOL" mask in/wrongsize_mask.png 200 300 disk:50,50,10

expect_exit 65 "$TP" run in -o out --engine telea
for f in truncated text wrongsize nomask; do
	[ "$(grep -c "in/$f.png" "$T/.stderr")" -eq 1 ] || { cat "$T/.stderr"; fail "$f: not exactly one error line"; }
	[ ! -e out/$f.png ] || fail "$f: an output exists"
done
grep_err "error: in/wrongsize.png: the mask in/wrongsize_mask.png is 200x300 but the image is 300x200"
grep_err "in/nomask.png: no mask found"
grep_err "in/text.png: .*not"
DB=out/.tilepaint.db
eq "$(sql $DB "select count(*) from jobs where state = 3")" 4 "failed jobs"
eq "$(sql $DB "select count(*) from jobs where state = 2")" 2 "done jobs"
eq "$(sql $DB "select count(*) from jobs where state = 3 and (error is null or error = '')")" 0 "failed jobs without error text"
"$TOOL" unmasked in/good1.png out/good1.png in/good1_mask.png >/dev/null || fail "good1 wrong"
no_temps out
expect_exit 0 "$TP" status -o out
grep_out "in/truncated.png"
# unchanged, the bad ones are not tried again (one reminder line, no error,
# exit 0); with --retry-failed they fail again (and only they are attempted)
expect_exit 0 "$TP" run in -o out --engine telea
grep_err "4 images failed before and were not tried again"
grep_err "2 already done"
expect_exit 65 "$TP" run in -o out --engine telea --retry-failed
grep_err "2 already done"
grep_err "in/truncated.png"

# bombs by declared size are refused from the header: a TIFF declaring a 2^31
# tile side, and with --max-pixels an image larger than allowed
mkdir big
cp "$TP_TOP/tests/fuzz/corpus/tiff/bad-bomb-tile-2g-side.tif" big/bomb.tif
"$TOOL" mask big/bomb_mask.png 64 64 disk:10,10,4
"$TOOL" gen big/huge.png 4000 3000 3 8 7
"$TOOL" mask big/huge_mask.png 4000 3000 disk:2000,1500,50
"$TOOL" gen big/small.png 300 200 3 8 8
"$TOOL" mask big/small_mask.png 300 200 disk:150,100,20
expect_exit 65 "$TP" run big -o bigout --engine telea --max-pixels 10M -q
grep_err "big/bomb.tif: bad TIFF tile size 2147483648x2147483648"
grep_err "big/huge.png: 4000x3000 image (12000000 pixels) is over the --max-pixels limit of 10000000"
eq "$(wc -l <"$T/.stderr")" 2 "one line per refused image"
eq "$(sql bigout/.tilepaint.db "select count(*) from tiles t join jobs j on t.job_id = j.id where j.input = 'big/huge.png'")" 0 "tiles planned for a refused image"
"$TOOL" unmasked big/small.png bigout/small.png big/small_mask.png >/dev/null || fail "small.png not done"
[ ! -e bigout/huge.png ] && [ ! -e bigout/bomb.tif ] || fail "an output for a refused image"
# without the limit the same image is done (asked for: a refused image
# counts as failed, and the limit is not part of what makes it "changed")
expect_exit 65 "$TP" run big -o bigout --engine telea -q --retry-failed
[ -e bigout/huge.png ] || fail "huge.png not done without --max-pixels"
expect_exit 64 "$TP" run big -o x --max-pixels 12Q; grep_err "max-pixels takes a pixel count"
