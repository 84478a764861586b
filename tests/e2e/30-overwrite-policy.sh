# What a run may replace and redo: an existing output the store did not
# write is never replaced (73, one line) unless --overwrite; a failed image
# whose inputs and options are unchanged is not tried again on every run
# (one reminder line, exit 0 for a run with no new failure) unless
# --retry-failed; --force redoes done images; `tilepaint forget` removes
# jobs by path or all failed ones, so the next run treats them as new.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 120 90 3 8 1
"$TOOL" mask in/a_mask.png 120 90 disk:60,45,12
"$TOOL" gen in/b.png 120 90 3 8 2
"$TOOL" mask in/b_mask.png 120 90 disk:30,30,10
"$TOOL" gen in/c.png 120 90 3 8 3
"$TOOL" mask in/c_mask.png 80 60 disk:30,30,10
mkdir out
echo "my own notes, not an image" >out/b.png

note "an output the store did not write is kept"
expect_exit 73 "$TP" run in -o out --engine telea
grep_err "out/b.png: exists, and this job store did not write it: not replacing it (--overwrite to allow)"
grep_err "in/c.png: the mask in/c_mask.png is 80x60 but the image is 120x90"
eq "$(cat out/b.png)" "my own notes, not an image" "b.png untouched"
[ -f out/a.png ] || fail "a.png not done"
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 3")" 2 "failed jobs"

note "failed and unchanged: not tried again, one reminder, exit 0"
expect_exit 0 "$TP" run in -o out --engine telea
grep_err "2 images failed before and were not tried again (inputs and options unchanged)"
eq "$(grep -c 'error' "$T/.stderr" || true)" 0 "no error lines for old failures"
grep_err "3 images: 0 done now, 1 already done, 0 failed"
eq "$(cat out/b.png)" "my own notes, not an image" "b.png still untouched"

note "--retry-failed tries them again (and they fail again)"
expect_exit 73 "$TP" run in -o out --engine telea --retry-failed
grep_err "not replacing it"
grep_err "is 80x60 but the image is 120x90"

note "a changed input is tried again without asking"
"$TOOL" mask in/c_mask.png 120 90 disk:30,30,10
expect_exit 0 "$TP" run in -o out --engine telea
grep_err "1 image failed before and was not tried again"
[ -f out/c.png ] || fail "c.png not done after its mask was fixed"

note "--overwrite replaces the foreign output"
expect_exit 0 "$TP" run in -o out --engine telea --overwrite
"$TOOL" info out/b.png >/dev/null || fail "b.png was not written"
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 2")" 3 "all done"

note "--force redoes done images, to the same bytes"
cp out/a.png a.before
expect_exit 0 "$TP" run in -o out --engine telea --force
grep_err "out/a.png: redoing it (--force)"
grep_err "3 done now"
cmp out/a.png a.before || fail "a forced redo differs"
expect_exit 0 "$TP" run in -o out --engine telea
grep_err "0 done now, 3 already done"

note "forget: by path, and every failed job"
expect_exit 0 "$TP" forget -o out in/a.png
grep_err "1 job forgotten"
eq "$(sql out/.tilepaint.db "select count(*) from jobs")" 2 "jobs left"
eq "$(sql out/.tilepaint.db "select count(*) from tiles where job_id not in (select id from jobs)")" 0 "orphan tiles"
expect_exit 66 "$TP" forget -o out in/nothing.png
grep_err "in/nothing.png: no job with this input or output path"
# a.png's output is now unknown to the store: kept unless --overwrite
expect_exit 73 "$TP" run in -o out --engine telea
grep_err "out/a.png: exists, and this job store did not write it"
expect_exit 0 "$TP" forget -o out --failed
grep_err "1 job forgotten"
expect_exit 0 "$TP" run in -o out --engine telea --overwrite
cmp out/a.png a.before || fail "a redone output differs"
expect_exit 64 "$TP" forget -o out
grep_err "give either PATH... or --failed"
expect_exit 66 "$TP" forget -o nowhere --failed
