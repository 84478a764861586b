# Two runs on one store at the same time do each job exactly once.
. "$(dirname "$0")/common.sh"
mkdir in
for i in 1 2 3 4 5 6 7 8; do
	"$TOOL" gen in/img$i.png 600 400 3 8 $i
	"$TOOL" mask in/img${i}_mask.png 600 400 spots:5,$i
done
OPTS="--engine telea --tile 96 --overlap 24 -j 1 -q"
"$TP" run in -o out $OPTS 2>"$T/a.err" &
a=$!
"$TP" run in -o out $OPTS 2>"$T/b.err" &
b=$!
wait $a || fail "first run failed: $(cat "$T/a.err")"
wait $b || fail "second run failed: $(cat "$T/b.err")"
DB=out/.tilepaint.db
eq "$(sql $DB "select count(*) from jobs where state = 2")" 8 "jobs done"
eq "$(sql $DB "select count(*) from jobs where attempts <> 1")" 0 "jobs claimed more than once"
eq "$(sql $DB "select count(*) from runs where exit_status = 0")" 2 "both runs ended well"
for i in 1 2 3 4 5 6 7 8; do
	"$TOOL" unmasked in/img$i.png out/img$i.png in/img${i}_mask.png >/dev/null || fail "img$i wrong"
done
