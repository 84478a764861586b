# 30 kill -9 at scattered instants across a batch (during decode, tiles,
# encode, publish, the store's commits), each followed by a run that is
# killed again; then one run to the end. The store stays intact after every
# kill, no temporary file survives the final run, and every output is
# byte-identical to an uninterrupted run's.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 640 480 3 8 1
"$TOOL" gen in/b.tif 512 400 1 16 2
"$TOOL" gen in/c.jpg 600 420 3 8 3
"$TOOL" gen in/d.png 300 700 4 8 4
"$TOOL" mask in/a_mask.png 640 480 disk:200,200,60 rect:500,50,60,300
"$TOOL" mask in/b_mask.png 512 400 spots:3,7
"$TOOL" mask in/c_mask.png 600 420 line:0,0,599,419,9
"$TOOL" mask in/d_mask.png 300 700 disk:150,350,80
OPTS="--engine patch --tile 128 --overlap 32 -j 2 -q"

t0=$(date +%s%N)
expect_exit 0 "$TP" run in -o ref $OPTS
full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$full_ms" -gt 0 ] || full_ms=1
# kill instants spread over the length of a whole run (deterministic list;
# which work each lands on varies with the machine, which is the point)
# (a resumed run is shorter than a whole one and may finish first: attempts go
# on until 30 kills have landed)
delays=$(awk -v ms="$full_ms" 'BEGIN { srand(18); for (i = 0; i < 120; i++) printf "%.3f\n", (rand() * 0.9 * ms + 5) / 1000 }')
kills=0 finished=0
for d in $delays; do
	[ "$kills" -lt 30 ] || break
	"$TP" run in -o out $OPTS 2>/dev/null &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null || true
	# 137: the kill landed (a run that had already ended is reaped with its own status)
	rc=0; wait "$pid" 2>/dev/null || rc=$?
	[ "$rc" -ne 137 ] || kills=$((kills + 1))
	if [ -f out/.tilepaint.db ]; then
		eq "$(sqlite3 out/.tilepaint.db "pragma integrity_check" 2>&1)" ok "store integrity after kill $kills"
	fi
	# a finished batch is started again from scratch, so later kills land
	# early in a run too
	if [ "$(sqlite3 out/.tilepaint.db "select count(*) from jobs where state = 2" 2>/dev/null)" = 4 ]; then
		finished=$((finished + 1))
		for f in a.png b.tif c.jpg d.png; do cmp -s "ref/$f" "out/$f" || fail "$f differs after kills"; done
		rm -rf out
	fi
done
expect_exit 0 "$TP" run in -o out $OPTS
for f in a.png b.tif c.jpg d.png; do cmp -s "ref/$f" "out/$f" || fail "$f differs after the kill storm"; done
no_temps out
note "$kills kills landed ($finished batches finished between them); outputs byte-identical"
[ "$kills" -eq 30 ] || fail "only $kills kills landed on a running process in 120 attempts"
