# Fenced leases: a run frozen past its lease (SIGSTOP, a stuck mount) and
# taken over never writes again: not a tile, not a timing, not its output.
# It exits 75 naming the image and the new holder, and leaves no temporary.
# A holder on this host that is a zombie is taken over at once.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/x.png 900 700 3 8 4
"$TOOL" mask in/x_mask.png 900 700 spots:6,3
OPTS="--engine telea --tile 96 --overlap 24 -j 1 -q"
expect_exit 0 "$TP" run in -o ref $OPTS
DB=out/.tilepaint.db

for point in tile:3 stage:publish; do
	note "frozen at $point"
	rm -rf out
	TILEPAINT_TEST_FREEZE=$point "$TP" run in -o out $OPTS --lease 3s 2>"$T/a.err" &
	a=$!
	wait_stopped $a
	gen=$(sql $DB "select lease_gen from jobs")
	sleep 4    # past A's lease; A is alive but stopped, so it is not "dead"
	expect_exit 0 "$TP" run in -o out $OPTS
	cmp out/x.png ref/x.png || fail "the run that took over wrote a different image"
	[ "$(sql $DB "select lease_gen from jobs")" -gt "$gen" ] || fail "lease generation not bumped"
	done_at=$(sql $DB "select updated || ' ' || output_sig from jobs")
	tiles=$(sql $DB "select group_concat(state || ':' || coalesce(engine_ms, ''), ',') from tiles")
	timings=$(sql $DB "select count(*), sum(count) from timings")
	kill -CONT $a
	set +e; wait $a; rc=$?; set -e
	eq "$rc" 75 "exit status of the run that lost its lease"
	grep -q "lost the lease on in/x.png to $(hostname):[0-9]*\$" "$T/a.err" || { cat "$T/a.err"; fail "no lost-lease line"; }
	cmp out/x.png ref/x.png || fail "the stale run replaced the output"
	eq "$(sql $DB "select updated || ' ' || output_sig from jobs")" "$done_at" "job row changed by the stale run"
	eq "$(sql $DB "select group_concat(state || ':' || coalesce(engine_ms, ''), ',') from tiles")" "$tiles" "tiles changed by the stale run"
	eq "$(sql $DB "select count(*), sum(count) from timings")" "$timings" "timings written by the stale run"
	eq "$(sql $DB "select state from jobs")" 2 "job state"
	eq "$(sql $DB "pragma integrity_check")" ok "integrity"
	no_temps out
	expect_exit 0 "$TP" run in -o out --engine telea --tile 96 --overlap 24 -j 1
	grep_err "0 done now, 1 already done"
done

note "a zombie holder is taken over at once"
rm -rf out
python3 - "$TP" <<'PY' &
import os, signal, subprocess, sys, time
env = dict(os.environ, TILEPAINT_TEST_FREEZE="tile:2")
p = subprocess.Popen([sys.argv[1], "run", "in", "-o", "out", "--engine", "telea",
                      "--tile", "96", "--overlap", "24", "-j", "1", "-q"], env=env)
for _ in range(6000):
    with open("/proc/%d/stat" % p.pid) as f:
        if f.read().rsplit(")", 1)[1].split()[0] == "T":
            break
    time.sleep(0.01)
os.kill(p.pid, signal.SIGKILL)
open("zombie.pid", "w").write(str(p.pid))
time.sleep(30)          # the zombie stays unreaped while we sleep
PY
py=$!
i=0; while [ ! -s zombie.pid ]; do i=$((i+1)); [ $i -lt 6000 ] || fail "no zombie"; sleep 0.01; done
sleep 0.2
zs=$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$(cat zombie.pid)/stat")
eq "$zs" Z "holder state"
expect_exit 0 "$TP" run in -o out $OPTS
cmp out/x.png ref/x.png || fail "output after taking over from a zombie"
eq "$(sql $DB "select state from jobs")" 2 "job done after taking over from a zombie"
kill $py 2>/dev/null || true
wait $py 2>/dev/null || true
