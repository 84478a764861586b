# report: runs in the record (json and csv numbers against the store's rows),
# --run N, per-image wall and worker time, and --format html: parsed (its
# tables, tile maps and escaping) and rendered in headless Chromium to a
# screenshot that must not be blank and must show the tile-map colours.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 400 300 3 8 1
"$TOOL" mask in/a_mask.png 400 300 disk:200,150,30
"$TOOL" gen 'in/b<&>.png' 300 200 3 8 2
"$TOOL" mask 'in/b<&>_mask.png' 300 200 rect:0,0,20,20
echo junk > 'in/c"bad".png'
"$TOOL" mask 'in/c"bad"_mask.png' 40 40 rect:0,0,4,4
OPTS="--engine telea --tile 128 --overlap 32 -j 2"
expect_exit 65 "$TP" run in -o out $OPTS
"$TOOL" gen in/d.png 200 200 3 8 3
"$TOOL" mask in/d_mask.png 200 200 disk:100,100,20
expect_exit 0 "$TP" run in -o out $OPTS
expect_exit 0 "$TP" run in -o out $OPTS
DB=out/.tilepaint.db

note "json: runs against the runs table"
expect_exit 0 "$TP" report -o out --format json
cp "$T/.stdout" r.json
python3 - "$DB" r.json <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); r = json.load(open(sys.argv[2]))
runs = db.execute("select id, host, pid, engine, threads, images, done, failed, skipped, "
                  "tiles, inpainted, megapixels, started, ended from runs order by id").fetchall()
assert len(r["runs"]) == len(runs) == 3, (len(r["runs"]), len(runs))
for j, s in zip(r["runs"], runs):
    assert j["store"] == sys.argv[1], j["store"]
    assert (j["id"], j["host"], j["pid"], j["engine"], j["threads"]) == s[:5], (j, s)
    assert (j["images"], j["done"], j["failed"], j["skipped"], j["tiles"], j["inpainted"]) == s[5:11], (j, s)
    assert abs(j["megapixels"] - s[11]) < 1e-6
    assert abs(j["wall_s"] - (s[13] - s[12])) < 2e-3, (j["wall_s"], s)
    assert j["state"] == "finished" and j["finished"] is not None
    assert "engine=telea tile=128 overlap=32" in j["options"], j["options"]
    want = s[11] / (s[13] - s[12])
    assert abs(j["mp_per_s"] - want) <= 1e-4 * want + 1e-5, (j["mp_per_s"], want)
    st = dict(db.execute("select stage, sum(ms) from timings where run_id = ? group by stage", (j["id"],)).fetchall())
    assert {x["stage"] for x in j["stages"]} == set(st), (j["stages"], st)
    for x in j["stages"]:
        assert abs(x["total_ms"] - st[x["stage"]]) < 1e-2, (x, st)
# run 1: 3 images (a, b done; c failed), run 2: d done, the rest up to date or failed before
assert (r["runs"][0]["images"], r["runs"][0]["done"], r["runs"][0]["failed"]) == (3, 2, 1), r["runs"][0]
assert r["runs"][1]["done"] == 1 and r["runs"][1]["skipped"] == 2, r["runs"][1]
assert r["runs"][2]["done"] == 0 and r["runs"][2]["skipped"] == 3, r["runs"][2]
# top-level sums and the jobs' wall and worker time
tot = db.execute("select sum(ms) from timings").fetchone()[0]
assert abs(r["total_ms"] - tot) < 1e-2 and abs(r["worker_ms"] - tot) < 1e-2
assert len(r["jobs"]) == 4
for j in r["jobs"]:
    jid = db.execute("select id from jobs where input = ?", (j["input"],)).fetchone()[0]
    wall = db.execute("select coalesce(sum(wall_ms), 0) from run_jobs where job_id = ?", (jid,)).fetchone()[0]
    work = db.execute("select coalesce(sum(ms), 0) from timings where job_id = ?", (jid,)).fetchone()[0]
    assert abs(j["wall_ms"] - wall) < 1e-2 and abs(j["worker_ms"] - work) < 1e-2, (j, wall, work)
    if j["state"] == "done":
        assert j["wall_ms"] > 0 and j["worker_ms"] > 0
        assert j["finished"] >= j["started"]
    t = db.execute("select count(*), sum(state = 2) from tiles where job_id = ?", (jid,)).fetchone()
    assert (j["tiles"], j["skipped"]) == (t[0], t[1] or 0), (j, t)
assert r["images"]["done"] == 3 and r["images"]["failed"] == 1, r["images"]
print("json ok")
PY

note "--run N: that run's stages and jobs only"
expect_exit 0 "$TP" report -o out --format json --run 2
python3 - "$DB" "$T/.stdout" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); r = json.load(open(sys.argv[2]))
assert r["run"] == 2 and [x["id"] for x in r["runs"]] == [2], r["runs"]
assert [j["input"] for j in r["jobs"]] == ["in/d.png"], [j["input"] for j in r["jobs"]]
tot = db.execute("select sum(ms) from timings where run_id = 2").fetchone()[0]
assert abs(r["total_ms"] - tot) < 1e-2, (r["total_ms"], tot)
PY
expect_exit 66 "$TP" report -o out --run 9; grep_err "no run 9"
expect_exit 64 "$TP" report -o out --run x; grep_err "run id"

note "csv: the runs table and the jobs table"
expect_exit 0 "$TP" report -o out --format csv --table runs
eq "$(sed -n 1p "$T/.stdout" | cut -d, -f1-6)" "store,run,started,finished,state,wall_s"
eq "$(($(wc -l < "$T/.stdout") - 1))" "$(sql $DB "select count(*) from runs")" "csv runs"
eq "$(sed -n 2p "$T/.stdout" | cut -d, -f13-15)" "$(sql $DB "select images || ',' || done || ',' || failed from runs where id = 1")" "csv run 1 images,done,failed"
expect_exit 0 "$TP" report -o out --format csv --table jobs
grep_out '^"out/.tilepaint.db","in/a.png","out/a.png",done,'
expect_exit 0 "$TP" report -o out --format csv
grep_out "^input,stage,count,total_ms,mean_ms,share_pct"
grep_out "^store,run,stage,count,total_ms"
expect_exit 0 "$TP" report -o out
grep_out "wall .* ms, worker .* ms"
grep_out "run 2: "

note "html: structure, numbers and escaping"
expect_exit 64 "$TP" report -o out --out r.html; grep_err "format html"
expect_exit 0 "$TP" report -o out --format html --out r.html
[ ! -s "$T/.stdout" ] || fail "--out wrote to stdout too"
no_temps .
python3 - "$DB" r.html <<'PY'
import sqlite3, sys
from html.parser import HTMLParser
db = sqlite3.connect(sys.argv[1]); src = open(sys.argv[2], encoding="utf-8").read()
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.rows = {}; s.cur = None; s.cell = None
        s.tiles = {}; s.maps = 0; s.images = []; s.bins = []; s.ext = []; s.text = []
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag in ("script", "link", "iframe", "object"): s.ext.append(tag)
        if tag == "img" or (tag == "image" and not a.get("href", "").startswith("data:image/png;base64,")):
            s.ext.append((tag, a.get("href") or a.get("src")))
        if tag == "image": s.images.append(a["href"])
        if tag == "table": s.cur = a.get("id")
        if tag == "tr" and s.cur: s.rows.setdefault(s.cur, []).append([])
        if tag == "td" and s.cur: s.cell = ""
        if tag == "svg" and a.get("class") == "tilemap": s.maps += 1
        if tag == "rect" and (a.get("class") or "").startswith("tile "):
            st = a["class"].split()[1]; s.tiles[st] = s.tiles.get(st, 0) + 1
        if tag == "rect" and a.get("class") == "bin": s.bins.append(int(a["data-count"]))
    def handle_endtag(s, tag):
        if tag == "td" and s.cur and s.cell is not None:
            s.rows[s.cur][-1].append(s.cell); s.cell = None
        if tag == "table": s.cur = None
    def handle_data(s, d):
        if s.cell is not None: s.cell += d
        s.text.append(d)
p = P(); p.feed(src)
assert not p.ext, p.ext
runs = [r for r in p.rows["runs"] if r]
assert len(runs) == db.execute("select count(*) from runs").fetchone()[0]
r1 = runs[0]
assert r1[1] == "1" and "engine=telea" in r1[7] and r1[8] == "2", r1
assert (r1[9], r1[10], r1[11]) == ("3", "2", "1"), r1
imgs = [r for r in p.rows["images"] if r]
assert len(imgs) == 4 and {r[1] for r in imgs} == {"in/a.png", "in/b<&>.png", 'in/c"bad".png', "in/d.png"}, imgs
for r in imgs:
    jid = db.execute("select id from jobs where input = ?", (r[1],)).fetchone()[0]
    wall = db.execute("select coalesce(sum(wall_ms), 0) from run_jobs where job_id = ?", (jid,)).fetchone()[0]
    assert abs(float(r[7]) - wall) < 0.06, (r, wall)
assert p.maps == 4, p.maps
want = dict(db.execute("select case state when 0 then 'pending' when 1 then 'done' when 2 then 'skipped' else 'failed' end, count(*) from tiles group by state").fetchall())
assert p.tiles == want, (p.tiles, want)
assert len(p.images) == 3, len(p.images)       # a, b, d have pictures; c is junk
assert sum(p.bins) == db.execute("select count(*) from tiles where state = 1 and engine_ms is not null").fetchone()[0]
fails = [r for r in p.rows["failed"] if r]
assert len(fails) == 1 and fails[0][0] == 'in/c"bad".png' and "not a PNG" in fails[0][1], fails
assert "in/b<&>.png" not in src and "in/b&lt;&amp;&gt;.png" in src
print("html ok")
PY

note "html: rendered by headless Chromium, not blank, tile colours present"
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then apt-get install -y chromium >/dev/null 2>&1 || true
	else sudo -n apt-get install -y chromium >/dev/null 2>&1 || true; fi
fi
command -v chromium >/dev/null 2>&1 || fail "chromium is not installed (apt-get install chromium)"
prof=$(mktemp -d)
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$prof" --screenshot="$T/shot.png" --window-size=1200,2000 \
	"file://$T/r.html" >/dev/null 2>&1 || true
rm -rf "$prof"
[ -s shot.png ] || fail "chromium wrote no screenshot"
python3 - shot.png "$TP_TOP/tests/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from pngrows import decode
w, h, bpp, rows = decode(open(sys.argv[1], "rb").read())
px = set(); nonwhite = 0
for line in rows:
    for x in range(0, w * bpp, bpp):
        q = tuple(line[x:x + 3])
        if q != (255, 255, 255): nonwhite += 1
        px.add(q)
assert nonwhite > 0.02 * w * h, ("blank", nonwhite, w * h)
for name, rgb in (("done", (0x1f, 0x9e, 0x3a)), ("skipped", (0xa0, 0xa0, 0xa0)), ("failed", (0xe0, 0x10, 0x2f))):
    assert rgb in px, ("legend colour missing", name)
print("screenshot ok", w, h, nonwhite)
PY
