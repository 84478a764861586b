# --shard K/N with one store per shard: three shards running at once into one
# output directory each keep DIR/.tilepaint-K-of-N.db, never a shared
# .tilepaint.db; their jobs are disjoint and cover the batch; the outputs are
# byte-identical to a one-process run; a shard run again is a no-op; a shard
# killed mid-image resumes from its own store; --db still chooses the store;
# status and forget read a shard's store with --db, and status/report -o DIR
# all of a directory's shard stores when it has no .tilepaint.db. (Real Slurm and GNU
# parallel: make check-scale.)
. "$(dirname "$0")/common.sh"
mkdir -p in/sub
i=1
for n in a b c d e f g h sub/i sub/j; do
	"$TOOL" gen in/$n.png 160 120 3 8 $i
	"$TOOL" mask in/${n}_mask.png 160 120 disk:$((20 + i * 9)),60,14
	i=$((i + 1))
done
"$TOOL" gen in/big.png 1600 1200 3 8 21
"$TOOL" mask in/big_mask.png 1600 1200 spots:12,5
OPTS="--engine telea --tile 64 --overlap 16"
expect_exit 0 "$TP" run in -r -o ref $OPTS -j 2 -q
(cd ref && find . -type f ! -name '.*' | sort) > batch
eq "$(wc -l < batch)" 11 "reference outputs"

# three shards at once, one output directory
pids=""
for k in 1 2 3; do
	"$TP" run in -r -o out $OPTS -j 1 --shard $k/3 -q 2>"$T/shard$k.err" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a shard failed: $(cat "$T"/shard*.err)"; done
[ ! -e out/.tilepaint.db ] || fail "the shards made a shared out/.tilepaint.db"
for k in 1 2 3; do
	[ -f out/.tilepaint-$k-of-3.db ] || fail "no store out/.tilepaint-$k-of-3.db"
	[ ! -s "$T/shard$k.err" ] || fail "shard $k printed: $(cat "$T/shard$k.err")"
done
(cd out && find . -type f ! -name '.*' | sort) > got
cmp -s got batch || fail "shard outputs are not the batch: $(diff batch got | tr '\n' ' ')"
while read -r f; do cmp ref/$f out/$f || fail "$f differs from the one-process run"; done < batch
for k in 1 2 3; do sql out/.tilepaint-$k-of-3.db "select input from jobs where state = 2"; done | sort > inputs
sed -n 's|^in/||p' inputs > inputs.rel
sed 's|^\./||' batch > batch.rel
cmp -s inputs.rel batch.rel || fail "the shards' jobs are not disjoint or do not cover the batch: $(uniq -c inputs | tr -s ' ' | tr '\n' ' ')"
for k in 1 2 3; do
	n=$(sql out/.tilepaint-$k-of-3.db "select count(*) from jobs")
	[ "$n" -gt 0 ] || fail "shard $k is empty"
done
tiles=0
for k in 1 2 3; do tiles=$((tiles + $(sql out/.tilepaint-$k-of-3.db "select count(*) from tiles"))); done
eq "$tiles" "$(sql ref/.tilepaint.db "select count(*) from tiles")" "tile rows over the shards"

# --dry-run lists exactly the shard's images
for k in 1 2 3; do
	expect_exit 0 "$TP" run in -r -o out $OPTS --shard $k/3 --dry-run
	eq "$(grep -c ' -> ' "$T/.stdout")" "$(sql out/.tilepaint-$k-of-3.db "select count(*) from jobs")" \
		"dry run of shard $k"
done

# a shard run again is a no-op, on its own store
expect_exit 0 "$TP" run in -r -o out $OPTS --shard 2/3
grep_err "0 done now"
grep_err "0 inpainted"

# status and forget read a shard's store with --db
expect_exit 0 "$TP" status --db out/.tilepaint-1-of-3.db --format json
grep_out "\"done\": $(sql out/.tilepaint-1-of-3.db "select count(*) from jobs")"
# -o DIR with only shard stores: status and report read them all, merged
expect_exit 0 "$TP" status -o out --format json
grep_err "reading its 3 shard stores"
all=$(($(sql out/.tilepaint-1-of-3.db "select count(*) from jobs") + $(sql out/.tilepaint-2-of-3.db "select count(*) from jobs") + $(sql out/.tilepaint-3-of-3.db "select count(*) from jobs")))
grep_out "\"done\": $all"
expect_exit 0 "$TP" report -o out --format csv --table jobs
eq "$(($(wc -l < "$T/.stdout") - 1))" "$all" "jobs in the merged report"

# a shard killed in the middle of an image resumes from its own store
k=""
for s in 1 2 3; do
	"$TP" run in -r -o out2 $OPTS --shard $s/3 --dry-run | grep -q '^in/big.png:' && k=$s
done
[ -n "$k" ] || fail "no shard lists in/big.png"
db=out2/.tilepaint-$k-of-3.db
"$TP" run in -r -o out2 $OPTS -j 1 --shard $k/3 -q 2>"$T/kill.err" &
pid=$!
kill_at_tiles $pid "$db" 20 "j.input = 'in/big.png'"
before=$(sql "$db" "select count(*) from tiles t join jobs j on j.id = t.job_id where j.input = 'in/big.png' and t.state = 1")
total=$(sql ref/.tilepaint.db "select count(*) from tiles t join jobs j on j.id = t.job_id where j.input = 'in/big.png' and t.state = 1")
[ "$before" -lt "$total" ] || fail "the shard finished big.png before the kill; make it larger"
expect_exit 0 "$TP" run in -r -o out2 $OPTS -j 2 --shard $k/3
reused=$(sed -n 's/.* \([0-9]*\) reused.*/\1/p' "$T/.stderr")
eq "$reused" "$before" "tiles reused by the resumed shard"
cmp ref/big.png out2/big.png || fail "resumed shard's big.png differs from the one-process run"
[ ! -e out2/.tilepaint.db ] || fail "the resumed shard made a shared store"
no_temps out2

# --db still chooses the store, also with --shard
expect_exit 0 "$TP" run in -r -o out3 $OPTS --shard 1/2 --db "$T/s1.db" -q
[ -f "$T/s1.db" ] && [ ! -e out3/.tilepaint-1-of-2.db ] || fail "--db with --shard"

# forget --db drops a job from a shard's store, and the shard redoes it
one=$(sql out/.tilepaint-3-of-3.db "select input from jobs limit 1")
expect_exit 0 "$TP" forget --db out/.tilepaint-3-of-3.db "$one"
rm "out/${one#in/}"
expect_exit 0 "$TP" run in -r -o out $OPTS --shard 3/3
grep_err "1 done now"
cmp "ref/${one#in/}" "out/${one#in/}" || fail "redone $one differs"

# a bad shard is a usage error
expect_exit 64 "$TP" run in -o out --shard 4/3
grep_err "shard takes K/N"
