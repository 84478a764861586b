# report --db A --db B merges the stores of a sharded batch: runs of both,
# tagged with their store, jobs of both, and totals that add up to the sum
# of the stores (checked against each store's rows and each store's own report).
. "$(dirname "$0")/common.sh"
mkdir in
for i in 1 2 3 4 5 6; do
	"$TOOL" gen in/s$i.png 256 192 3 8 $i
	"$TOOL" mask in/s${i}_mask.png 256 192 disk:128,96,$((10 + i))
done
OPTS="--engine telea --tile 96 --overlap 16 -j 1 -q"
expect_exit 0 "$TP" run in -o out --db s1.db --shard 1/2 $OPTS
expect_exit 0 "$TP" run in -o out --db s2.db --shard 2/2 $OPTS
a=$(sql s1.db "select count(*) from jobs"); b=$(sql s2.db "select count(*) from jobs")
eq "$((a + b))" 6 "shards cover the batch"
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] || fail "a shard is empty ($a, $b); pick other names"
expect_exit 0 "$TP" report --db s1.db --format json; cp "$T/.stdout" r1.json
expect_exit 0 "$TP" report --db s2.db --format json; cp "$T/.stdout" r2.json
expect_exit 0 "$TP" report --db s1.db --db s2.db --format json; cp "$T/.stdout" m.json
python3 - r1.json r2.json m.json <<'PY'
import json, sqlite3, sys
r1, r2, m = (json.load(open(p)) for p in sys.argv[1:4])
assert m["stores"] == ["s1.db", "s2.db"], m["stores"]
assert [(x["store"], x["id"]) for x in m["runs"]] == [("s1.db", 1), ("s2.db", 1)], m["runs"]
for x, db in zip(m["runs"], ("s1.db", "s2.db")):
    c = sqlite3.connect(db)
    assert x["shard"] == ("1/2" if db == "s1.db" else "2/2"), x["shard"]
    assert x["done"] == c.execute("select count(*) from jobs where state = 2").fetchone()[0]
    assert x["discovered"] == x["images"] == x["done"], x
    for k in ("started", "finished", "wall_s", "host", "pid", "engine", "options", "images",
              "tiles", "mp_per_s", "stages"):
        assert k in x, k
assert len(m["jobs"]) == 6 and {j["store"] for j in m["jobs"]} == {"s1.db", "s2.db"}
assert sorted(j["input"] for j in m["jobs"]) == ["in/s%d.png" % i for i in range(1, 7)]
for j in m["jobs"]:
    for k in ("output", "state", "tiles", "skipped", "wall_ms", "worker_ms"):
        assert k in j, k
assert abs(m["total_ms"] - (r1["total_ms"] + r2["total_ms"])) < 2e-3, (m["total_ms"], r1["total_ms"], r2["total_ms"])
assert abs(m["wall_ms"] - (r1["wall_ms"] + r2["wall_ms"])) < 2e-3
for k in ("jobs", "done", "failed"):
    assert m["images"][k] == r1["images"][k] + r2["images"][k], k
for k in m["tiles"]:
    assert m["tiles"][k] == r1["tiles"][k] + r2["tiles"][k], k
s1 = {x["stage"]: x for x in r1["stages"]}; s2 = {x["stage"]: x for x in r2["stages"]}
for x in m["stages"]:
    want = s1.get(x["stage"], {"count": 0, "total_ms": 0}); w2 = s2.get(x["stage"], {"count": 0, "total_ms": 0})
    assert x["count"] == want["count"] + w2["count"], x
    assert abs(x["total_ms"] - want["total_ms"] - w2["total_ms"]) < 2e-3, x
print("merged ok")
PY
expect_exit 0 "$TP" status --db s1.db --db s2.db --format json
grep_out '"jobs": {"queued": 0, "running": 0, "done": 6, "failed": 0, "interrupted": 0, "not_started": 0}'
expect_exit 0 "$TP" report --db s1.db --db s2.db --format csv --table runs
eq "$(grep -c '^"s[12].db",1,' "$T/.stdout")" 2 "one csv row per shard's run"
expect_exit 0 "$TP" report --db s1.db --db s2.db --format html --out m.html
eq "$(grep -o '<tr class="run">' m.html | wc -l)" 2 "runs in the merged page"
eq "$(grep -o '<svg class="tilemap"' m.html | wc -l)" 6 "tile maps in the merged page"
expect_exit 64 "$TP" report -o out --db s1.db --db s2.db; grep_err "exactly one of"
expect_exit 66 "$TP" report --db s1.db --db nowhere.db; grep_err "nowhere.db"
