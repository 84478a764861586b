# --max-time stops at a tile boundary with exit 75 and no output; running the
# same command again finishes with the bytes an uninterrupted run writes.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 1600 1200 3 8 3
"$TOOL" mask in/a_mask.png 1600 1200 spots:15,3
OPTS="--engine telea --radius 9 --tile 64 --overlap 16 -j 1"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png ref.png $OPTS
expect_exit 75 "$TP" run in -o out $OPTS --max-time 0.3s
grep_err "stopped"
[ ! -e out/a.png ] || fail "output written by a stopped run"
done1=$(sql out/.tilepaint.db "select count(*) from tiles where state = 1")
[ "$done1" -gt 0 ] || fail "no tile stored before the stop"
eq "$(sql out/.tilepaint.db "select state from jobs")" 0 "stopped job is queued again"
n=0
while :; do
	set +e; "$TP" run in -o out $OPTS --max-time 1s -q; rc=$?; set -e
	[ $rc -eq 0 ] && break
	[ $rc -eq 75 ] || fail "exit $rc"
	n=$((n + 1)); [ $n -lt 100 ] || fail "never finished"
done
cmp out/a.png ref.png || fail "output after stops and resumes differs"
