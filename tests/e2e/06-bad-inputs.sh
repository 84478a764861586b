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
ls -a out | grep -q '\.tmp-' && fail "temporary files left behind"
expect_exit 0 "$TP" status -o out
grep_out "in/truncated.png"
# the failed ones fail again (and only they are attempted); the good ones stay done
expect_exit 65 "$TP" run in -o out --engine telea
grep_err "2 already done"
