# --dry-run says per image what a run would do (would process / up to date /
# would redo (why) / failed before / would not replace), from the same
# decision the run acts on: on a batch prepared to hit every case, the run
# that follows does exactly what the dry run said, and the dry run itself
# changes nothing (store dump and outputs identical).
. "$(dirname "$0")/common.sh"
OPTS="--engine telea -j 1"
mkdir in
for n in b c d e f; do
	"$TOOL" gen in/$n.png 100 80 3 8 $(printf %d "'$n")
	"$TOOL" mask in/${n}_mask.png 100 80 disk:50,40,10
done
"$TOOL" gen in/g.png 100 80 3 8 7
"$TOOL" mask in/g_mask.png 60 50 disk:5,5,3          # wrong size: fails, input's fault

note "no store yet: every image would be processed, nothing is created"
expect_exit 65 "$TP" run --dry-run $OPTS in -o out
grep_out "in/b.png: would process: 100x80, 1 tiles, 1 to inpaint, 0 skipped -> out/b.png"
eq "$(grep -c 'would process' "$T/.stdout")" 5 "would process"
grep_err "in/g.png: the mask in/g_mask.png is 60x50 but the image is 100x80"
[ ! -e out ] || fail "--dry-run created out/"

expect_exit 65 "$TP" run -q $OPTS in -o out
# every case:
"$TOOL" gen in/a.png 100 80 3 8 1; "$TOOL" mask in/a_mask.png 100 80 disk:20,20,5   # new
"$TOOL" gen in/c.png 100 80 3 8 123                                             # input changed
"$TOOL" mask in/d_mask.png 100 80 disk:50,40,14                                 # mask changed
rm out/e.png                                                                    # output missing
printf 'x' >>out/f.png                                                          # output changed
"$TOOL" gen in/h.png 100 80 3 8 8; "$TOOL" mask in/h_mask.png 100 80 disk:9,9,4
cp in/h.png out/h.png                                                           # not ours
before=$(sqlite3 out/.tilepaint.db .dump | md5sum)
ls -li out | sort >ls_before

note "the dry run's verdicts"
expect_exit 73 "$TP" run --dry-run $OPTS in -o out
cat "$T/.stdout"
grep_out "^in/a.png: would process: 100x80"
grep_out "^in/b.png: up to date -> out/b.png$"
grep_out "^in/c.png: would redo (input changed): "
grep_out "^in/d.png: would redo (mask changed): "
grep_out "^in/e.png: would redo (output missing): "
grep_out "^in/f.png: would redo (output changed): "
grep_out "^in/g.png: failed before, not retried without --retry-failed: in/g.png: the mask in/g_mask.png is 60x50"
grep_out "^in/h.png: would not replace out/h.png: it exists, and this job store did not write it (--overwrite to allow)"
grep_out "^dry run: 8 images, 5 to work on, 5 tiles, 5 to inpaint, 0 skipped (engine telea)"
eq "$(cat "$T/.stderr")" "" "stderr of the dry run"
eq "$(sqlite3 out/.tilepaint.db .dump | md5sum)" "$before" "store after --dry-run"
ls -li out | sort >ls_after
cmp ls_before ls_after || fail "--dry-run touched out/"
awk -F': ' '/would (process|redo)/ {sub("^in/", "", $1); print $1}' "$T/.stdout" | sort >said_work

note "options changed: every finished job would be redone"
expect_exit 73 "$TP" run --dry-run $OPTS --dilate 1 in -o out
grep_out "^in/b.png: would redo (options changed): "
grep_err "in/g.png: the mask in/g_mask.png is 60x50"   # reset by the new options: tried, fails
expect_exit 0 "$TP" run --dry-run $OPTS --force in/b.png -o out
grep_out "^in/b.png: would redo (--force): "
expect_exit 65 "$TP" run --dry-run $OPTS --retry-failed in/g.png -o out
grep_err "in/g.png: the mask in/g_mask.png is 60x50"

note "the run then does what the dry run said"
for f in a b c d e f g h; do stat -c "$f %i %Y%y" out/$f.png 2>/dev/null || echo "$f none"; done >st_before
expect_exit 73 "$TP" run $OPTS in -o out
grep_err "8 images: 5 done now, 1 already done, 1 failed"
grep_err "1 image failed before and was not tried again"
grep_err "out/h.png: exists, and this job store did not write it"
for f in a b c d e f g h; do stat -c "$f %i %Y%y" out/$f.png 2>/dev/null || echo "$f none"; done >st_after
diff st_before st_after | awk '/^>/ {print $2 ".png"}' | sort >did_work
cmp said_work did_work || { diff said_work did_work; fail "the run worked on other images than the dry run said"; }
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 2")" 6 "done jobs"
note "and a dry run now finds everything up to date but the two failures"
expect_exit 0 "$TP" run --dry-run $OPTS in -o out
eq "$(grep -c ': up to date -> ' "$T/.stdout")" 6 "up to date"
grep_out "^in/g.png: failed before"
grep_out "^in/h.png: failed before, not retried without --retry-failed: out/h.png: exists"
echo "33-dry-run-verdicts: ok"
