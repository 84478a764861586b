# status is honest after kill -9: the dead run's job shows as interrupted (not
# running), images the run found but never reached count as not started, the
# ETA comes from measured throughput at the run's -j; csv and json agree with
# the store's rows. Then the resumed run finishes and status says so.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 2400 1600 3 8 21
"$TOOL" mask in/a_mask.png 2400 1600 spots:12,5
for i in 1 2 3; do
	"$TOOL" gen in/z$i.png 300 200 3 8 $i
	"$TOOL" mask in/z${i}_mask.png 300 200 rect:0,0,30,30
done
OPTS="--engine telea --radius 9 --tile 64 --overlap 16 -j 2"
DB=out/.tilepaint.db
"$TP" run in -o out $OPTS -q 2>"$T/run1.err" &
pid=$!
i=0
while :; do
	n=$(sqlite3 $DB "select count(*) from tiles where state = 1" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 10 ] && break
	i=$((i + 1)); [ $i -lt 3000 ] || { kill -9 $pid; fail "no tile finished in time"; }
	sleep 0.01
done
kill -9 $pid
wait $pid 2>/dev/null || true
eq "$(sql $DB "select state from jobs where input = 'in/a.png'")" 1 "the killed job is still marked running in the store"
eq "$(sql $DB "select count(*) from jobs")" 1 "jobs reached before the kill"

expect_exit 0 "$TP" status -o out --format json
cp "$T/.stdout" s.json
python3 - "$DB" s.json <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); s = json.load(open(sys.argv[2]))
j = s["jobs"]
assert j["running"] == 0 and j["interrupted"] == 1, j
assert j["not_started"] == 3 and s["images"] == 4, (j, s["images"])
disc, unk, threads = db.execute("select discovered, unknown, threads from runs").fetchone()
assert (disc, unk, threads) == (4, 4, 2), (disc, unk, threads)
pend = db.execute("select count(*) from tiles where state = 0").fetchone()[0]
assert s["tiles"]["pending"] == pend and s["tiles_left"] == pend, (s, pend)
assert s["tiles_left_estimated"] > 0, s
assert s["workers"] == 2, s
mean = db.execute("select avg(engine_ms) from tiles where state = 1").fetchone()[0]
assert abs(s["tile_ms_mean"] - mean) < 1e-3, (s["tile_ms_mean"], mean)
# the killed run never recorded an end: ETA from its engine time per tile at -j 2
assert s["eta_basis"].startswith("%.1f ms of engine time per tile, -j 2" % mean), s["eta_basis"]
assert abs(s["tiles_per_s"] - 2 * 1000 / mean) < 1e-2 * s["tiles_per_s"], s
assert abs(s["eta_s"] - (s["tiles_left"] + s["tiles_left_estimated"]) / s["tiles_per_s"]) < 0.1, s
print("status ok")
PY
expect_exit 0 "$TP" status -o out
grep_out "1 interrupted"
grep_out "3 not started"
grep_out "0 running"
expect_exit 0 "$TP" status -o out --format csv
grep_out "^jobs,interrupted,1$"
grep_out "^jobs,running,0$"
grep_out "^jobs,not_started,3$"
grep_out "^eta,workers,2$"
grep_out "^tiles,pending,$(sql $DB "select count(*) from tiles where state = 0")$"
expect_exit 0 "$TP" report -o out --format json
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["runs"][0]["state"] == "interrupted" and r["runs"][0]["finished"] is None, r["runs"][0]
assert [j["state"] for j in r["jobs"]] == ["interrupted"], r["jobs"]
' "$T/.stdout"

note "resumed: everything done, nothing left"
expect_exit 0 "$TP" run in -o out $OPTS -q
expect_exit 0 "$TP" status -o out --format json
grep_out '"jobs": {"queued": 0, "running": 0, "done": 4, "failed": 0, "interrupted": 0, "not_started": 0}'
grep_out '"tiles_left": 0, "tiles_left_estimated": 0'
expect_exit 0 "$TP" status -o out
grep_out "nothing left to inpaint"
