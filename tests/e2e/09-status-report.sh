# status and report read the store: counts by state, stage timings, formats.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 400 300 3 8 1
"$TOOL" gen in/b.png 400 300 3 8 2
"$TOOL" mask in/a_mask.png 400 300 disk:200,150,20
"$TOOL" mask in/b_mask.png 400 300 rect:0,0,10,10
echo junk > in/c.png
"$TOOL" mask in/c_mask.png 400 300 rect:0,0,10,10
expect_exit 65 "$TP" run in -o out --engine telea --tile 128 --overlap 32
expect_exit 0 "$TP" status -o out --format json
grep_out '"jobs": {"queued": 0, "running": 0, "done": 2, "failed": 1, "interrupted": 0, "not_started": 0}'
skipped=$(sql out/.tilepaint.db "select count(*) from tiles where state = 2")
grep_out "\"skipped\": $skipped"
grep_out '"input": "in/c.png"'
expect_exit 0 "$TP" status --db out/.tilepaint.db
grep_out "2 done"
expect_exit 0 "$TP" report -o out --format json
for s in decode mask plan inference blend encode write; do grep_out "\"stage\": \"$s\""; done
grep_out '"input": "in/a.png"'
expect_exit 0 "$TP" report -o out --format csv
grep_out "^input,stage,count,total_ms,mean_ms,share_pct"
grep_out '^"in/b.png",inference,1,'
expect_exit 0 "$TP" report -o out
grep_out "inference"
