# kill -9 in the middle of a multi-tile image; the next run finishes it with
# output byte-identical to an uninterrupted run, reusing the stored tiles,
# and the store passes PRAGMA integrity_check.
. "$(dirname "$0")/common.sh"
mkdir in ref
"$TOOL" gen in/big.png 2400 1600 3 8 21
"$TOOL" mask in/big_mask.png 2400 1600 spots:12,5
cp in/big.png in/big_mask.png ref/
OPTS="--engine telea --radius 9 --tile 64 --overlap 16 -j 2"
expect_exit 0 "$TP" run ref -o ref-out $OPTS -q
total=$(sql ref-out/.tilepaint.db "select count(*) from tiles where state = 1")
[ "$total" -gt 40 ] || fail "test image too easy: $total tiles"

"$TP" run in -o out $OPTS -q 2>"$T/run1.err" &
pid=$!
kill_at_tiles $pid out/.tilepaint.db 10
before=$(sql out/.tilepaint.db "select count(*) from tiles where state = 1")
[ "$before" -lt "$total" ] || fail "the run finished before the kill; make the image larger"
[ ! -e out/big.png ] || fail "a partial output is at the output path"
eq "$(sql out/.tilepaint.db "pragma integrity_check")" ok "integrity after kill -9"

expect_exit 0 "$TP" run in -o out $OPTS
cmp out/big.png ref-out/big.png || fail "resumed output differs from the uninterrupted run"
reused=$(sed -n 's/.* \([0-9]*\) reused.*/\1/p' "$T/.stderr")
[ "$reused" -ge "$before" ] || fail "only $reused tiles reused of $before stored before the kill"
eq "$(sql out/.tilepaint.db "pragma integrity_check")" ok "integrity after resume"
no_temps out
eq "$(sql out/.tilepaint.db "select state from jobs")" 2 "job state"
