# A mixed batch: 8-bit RGB PNG, 16-bit RGB TIFF, gray PNG, RGBA PNG, JPEG.
# Unmasked pixels equal the input's, masked ones change, skipped tiles are
# exactly the tiles without a masked pixel, and a second run is a no-op.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/rgb.png 700 500 3 8 1
"$TOOL" gen in/deep.tif 600 450 3 16 2
"$TOOL" gen in/gray.png 520 530 1 8 3
"$TOOL" gen in/alpha.png 400 300 4 8 4
"$TOOL" gen in/photo.jpg 640 480 3 8 5
"$TOOL" mask in/rgb_mask.png 700 500 rect:300,200,40,30 line:10,10,690,480,3
"$TOOL" mask in/deep_mask.png 600 450 disk:100,100,12 disk:500,400,9
"$TOOL" mask in/gray_mask.png 520 530 line:0,260,519,270,4
"$TOOL" mask in/alpha_mask.png 400 300 rect:0,0,25,25 rect:380,280,20,20
"$TOOL" mask in/photo_mask.png 640 480 disk:320,240,20

expect_exit 0 "$TP" run in -o out --engine telea --tile 128 --overlap 32 -j 2 -q
[ ! -s "$T/.stderr" ] || { cat "$T/.stderr"; fail "-q printed something"; }
for f in rgb.png deep.tif gray.png alpha.png; do
	"$TOOL" unmasked in/$f out/$f in/${f%.*}_mask.png || fail "$f: unmasked pixels changed"
done
eq "$("$TOOL" info out/deep.tif)" "600 450 3 16 tiff" "16-bit TIFF layout"
eq "$("$TOOL" info out/alpha.png)" "400 300 4 8 png" "RGBA layout"
eq "$("$TOOL" info out/photo.jpg)" "640 480 3 8 jpeg" "JPEG layout"
[ ! -e out/rgb_mask.png ] || fail "a mask was processed as an image"

DB=out/.tilepaint.db
eq "$(sql $DB "select count(*) from jobs where state = 2")" 5 "jobs done"
for f in rgb deep gray alpha photo; do
	ext=$(ls in/$f.* | sed 's/.*\.//')
	sql $DB "select t.x, t.y, t.w, t.h, t.state from tiles t join jobs j on j.id = t.job_id where j.output = 'out/$f.$ext'" \
		| tr '|' ' ' | "$TOOL" maskcheck in/${f}_mask.png >/dev/null || fail "$f: skipped tiles are not the empty ones"
done
skipped=$(sql $DB "select count(*) from tiles where state = 2")
[ "$skipped" -gt 0 ] || fail "no tile was skipped"
pending=$(sql $DB "select count(*) from tiles where state in (0, 3)")
eq "$pending" 0 "tiles left pending"

# the second run does nothing: no inference, outputs untouched
before=$(ls -l --time-style=+%s.%N out/ | md5sum)
expect_exit 0 "$TP" run in -o out --engine telea --tile 128 --overlap 32 -j 2
grep_err "5 already done"
grep_err "0 inpainted"
after=$(ls -l --time-style=+%s.%N out/ | md5sum)
eq "$after" "$before" "outputs rewritten by a no-op run"
runs=$(sql $DB "select count(*) from runs")
eq "$runs" 2 "runs recorded"
last=$(sql $DB "select max(id) from runs")
eq "$(sql $DB "select count(*) from timings where run_id = $last and stage = 'inference'")" 0 "inference in the no-op run"

# a changed option re-plans every job; a changed mask re-plans that job only
expect_exit 0 "$TP" run in -o out --engine telea --tile 128 --overlap 32 --radius 3 -q
"$TOOL" mask in/gray_mask.png 520 530 line:0,100,519,120,4
expect_exit 0 "$TP" run in -o out --engine telea --tile 128 --overlap 32 --radius 3
grep_err "1 done now, 4 already done"
"$TOOL" unmasked in/gray.png out/gray.png in/gray_mask.png || fail "re-planned job is wrong"
