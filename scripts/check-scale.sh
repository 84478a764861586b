#!/bin/sh
# check-scale.sh BUILD - scale-out for real (`make check-scale`, not part of
# `make check`): starts a single-node Slurm cluster on this machine (munged
# with a generated key, slurmctld and slurmd from a generated slurm.conf,
# everything under one temporary directory), and checks, against a
# one-process `tilepaint run` of the same generated batch:
#   - examples/slurm-array.sh submitted as a 3-task array (sbatch --array=1-3):
#     outputs byte-identical (cmp), one store per shard, shards disjoint;
#   - examples/parallel.sh with GNU parallel, 3 shards: the same;
#   - the merged report (tilepaint report --db A --db B --db C --format json)
#     adds up: every image done once, the union of the jobs' inputs is the
#     batch, tiles and skipped tiles add up to the one-process store's;
#   - requeue after preemption: an array task requeued while running
#     (scontrol requeue: Slurm signals it, tilepaint stops cleanly) and later
#     killed with SIGKILL in the middle of an image (as the OOM killer or a
#     crashed node would) and requeued (scontrol requeue): each time it
#     resumes, the tiles stored before are not computed again (their rows
#     are unchanged, the next run reuses exactly that many), and the outputs
#     are byte-identical;
#   - --max-time stopping a task with work left (exit 75): the task requeues
#     itself until it is done, outputs byte-identical.
# Ends "N passed, N failed" like scripts/run-tests.sh; exit 1 on any failure.
# The daemons are stopped and the directory removed on every exit (KEEP=1
# keeps the directory, with the daemons' logs, for a look).
#
# Needs root (slurmd starts jobs as their user; SlurmUser=root) and the
# Debian packages slurm-wlm, munge, parallel, sqlite3 and jq, which the
# Makefile target installs. It uses its own ports and files only: nothing in
# /etc/slurm or /etc/munge is read or changed, and a system-wide Slurm or
# munge, if any, is left alone.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
TP=$BUILD/tilepaint
TOOL=$BUILD/tests/tptool
SLURM_SCRIPT=$TOP/examples/slurm-array.sh
PARALLEL_SCRIPT=$TOP/examples/parallel.sh
# The default engine; 128 px tiles make the large image a few hundred tiles
# of some tens of milliseconds each, so a run can be caught in the middle.
OPTS="--tile 128"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -E "$0" "$@"
	fi
	echo "check-scale: needs root to run slurmd (no sudo here)" >&2
	exit 1
fi
for c in munged slurmctld slurmd sbatch scontrol squeue parallel sqlite3 jq; do
	command -v "$c" >/dev/null 2>&1 || { echo "check-scale: $c missing (make check-scale installs it)" >&2; exit 1; }
done
[ -x "$TP" ] && [ -x "$TOOL" ] || { echo "check-scale: build $TP and $TOOL first" >&2; exit 1; }

# munged refuses a socket directory that is not searchable by all, and
# mktemp -d makes it 0700.
S=$(mktemp -d "${TMPDIR:-/tmp}/tp-scale.XXXXXX")
chmod 755 "$S"
pass=0 fail=0 failed_names=""
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); failed_names="$failed_names $1"; echo "FAIL $1: $2"; }

# alive PID: running (a daemon of ours that died is a zombie until waited for)
alive() {
	kill -0 "$1" 2>/dev/null && [ "$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
daemon_pids="" ctld_pid=""
cleanup() {
	trap - EXIT INT TERM HUP
	# cancel our jobs first (their processes go with them), while the
	# controller is there to hear it (a Ctrl-C reaches the daemons too: then
	# the client commands would only time out)
	if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
		scancel --quiet --user=root 2>/dev/null || true
		i=0
		while [ -n "$(squeue -h 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	for p in $daemon_pids; do kill "$p" 2>/dev/null || true; done
	for p in $daemon_pids; do
		i=0
		while alive "$p" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "check-scale: kept $S"; else rm -rf "$S"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds; 1 on time out
wait_for() {
	_n=$(($1 * 10)); shift
	while ! "$@" >/dev/null 2>&1; do
		_n=$((_n - 1)); [ $_n -gt 0 ] || return 1
		sleep 0.1
	done
}
sql() { sqlite3 -batch -noheader "$1" "$2" 2>/dev/null; }

# ---- the batch: 12 images of mixed formats, sizes and masks, masks in a
# parallel tree (--masks), one subdirectory (-r), one large image -----------
mkdir -p "$S/in/sub" "$S/masks/sub"
gen() {  # gen REL W H CHANNELS BITS SEED SHAPE...
	rel=$1 w=$2 h=$3 c=$4 b=$5 seed=$6; shift 6
	"$TOOL" gen "$S/in/$rel" "$w" "$h" "$c" "$b" "$seed" &&
	"$TOOL" mask "$S/masks/${rel%.*}.png" "$w" "$h" "$@"
}
{
	gen big.png 1600 1200 3 8 21 spots:12,5 &&
	gen a.png 400 300 3 8 1 disk:200,150,30 &&
	gen b.png 320 240 1 8 2 line:0,0,319,239,5 &&
	gen c.png 500 260 4 8 3 rect:40,40,90,60 &&
	gen d16.png 300 300 3 16 4 spots:3,7 &&
	gen e.tif 420 310 3 8 5 disk:100,100,25 &&
	gen f.tif 256 256 1 16 6 rect:10,200,200,20 &&
	gen g.jpg 480 320 3 8 7 line:10,300,470,20,7 &&
	gen h.jpg 352 288 1 8 8 disk:170,140,40 &&
	gen sub/i.png 300 200 3 8 9 spots:2,9 &&
	gen sub/j.tif 260 390 3 8 10 rect:0,0,60,60 &&
	gen sub/k.png 640 480 3 8 11 disk:320,240,10
} || { echo "check-scale: could not generate the batch" >&2; exit 1; }
NIMG=12
(cd "$S/in" && find . -type f | sed 's|^\./||' | sort) > "$S/batch.txt"

stamp() { echo "-- $(date +%T) $*"; }
stamp "one-process reference run"
if "$TP" run "$S/in" -r --masks "$S/masks" -o "$S/ref" $OPTS -j 2 -q; then
	ok "reference run"
else
	bad "reference run" "tilepaint run exited $?"
fi
REF_DB=$S/ref/.tilepaint.db
REF_TILES=$(sql "$REF_DB" "select count(*) from tiles")
REF_SKIPPED=$(sql "$REF_DB" "select count(*) from tiles where state = 2")

# same_outputs NAME DIR: DIR holds exactly the reference's outputs, byte for byte
same_outputs() {
	(cd "$2" 2>/dev/null && find . -type f ! -name '.*' | sed 's|^\./||' | sort) > "$S/got.txt"
	if ! cmp -s "$S/got.txt" "$S/batch.txt"; then
		bad "$1: outputs" "files differ from the batch: $(diff "$S/batch.txt" "$S/got.txt" | tr '\n' ' ')"
		return
	fi
	while read -r f; do
		cmp -s "$S/ref/$f" "$2/$f" || { bad "$1: outputs" "$f differs from the one-process run"; return; }
	done < "$S/batch.txt"
	ok "$1: $NIMG outputs byte-identical to the one-process run"
}

# shard_stores NAME DIR N: one store per shard in DIR, none shared, the
# shards' jobs disjoint and covering the batch, every job done
shard_stores() {
	name=$1 dir=$2 n=$3 k=1 why=""
	[ ! -e "$dir/.tilepaint.db" ] || why="a shared $dir/.tilepaint.db exists"
	: > "$S/inputs.txt"
	while [ $k -le "$n" ]; do
		db=$dir/.tilepaint-$k-of-$n.db
		if [ ! -f "$db" ]; then why="no store $db"; break; fi
		sql "$db" "select input from jobs where state = 2" >> "$S/inputs.txt"
		k=$((k + 1))
	done
	if [ -z "$why" ]; then
		sed "s|^$S/in/||" "$S/inputs.txt" | sort > "$S/inputs.sorted"
		cmp -s "$S/inputs.sorted" "$S/batch.txt" ||
			why="the shards' done jobs are not the batch once each: $(sort "$S/inputs.sorted" | uniq -c | tr -s ' ' | tr '\n' ' ')"
	fi
	if [ -z "$why" ]; then ok "$name: $n stores, shards disjoint, every image done once"; else bad "$name: stores" "$why"; fi
}

# merged_report NAME DIR N: tilepaint report --db each shard --format json adds up
merged_report() {
	name=$1 dir=$2 n=$3 k=1 dbs=""
	while [ $k -le "$n" ]; do dbs="$dbs --db $dir/.tilepaint-$k-of-$n.db"; k=$((k + 1)); done
	# shellcheck disable=SC2086
	if ! "$TP" report $dbs --format json > "$S/report.json" 2> "$S/report.err"; then
		bad "$name: merged report" "report exited $?: $(head -n 2 "$S/report.err" | tr '\n' ' ')"
		return
	fi
	if ! jq -e 'has("runs") and has("jobs")' "$S/report.json" >/dev/null 2>&1; then
		bad "$name: merged report" "not one JSON object with \"runs\" and \"jobs\": $(head -c 120 "$S/report.json")..."
		return
	fi
	done_jobs=$(jq '[.jobs[] | select(.state == "done")] | length' "$S/report.json")
	done_runs=$(jq '[.runs[].done] | add' "$S/report.json")
	tiles=$(jq '[.jobs[].tiles] | add' "$S/report.json")
	skipped=$(jq '[.jobs[].skipped] | add' "$S/report.json")
	stores=$(jq '[.runs[].store] | unique | length' "$S/report.json")
	jq -r '.jobs[].input' "$S/report.json" | sed "s|^$S/in/||" | sort -u > "$S/rinputs.txt"
	why=""
	[ "$done_jobs" = "$NIMG" ] || why="$why jobs done $done_jobs, want $NIMG;"
	[ "$done_runs" = "$NIMG" ] || why="$why runs' done add to $done_runs, want $NIMG;"
	cmp -s "$S/rinputs.txt" "$S/batch.txt" || why="$why the jobs' inputs are not the batch;"
	[ "$tiles" = "$REF_TILES" ] || why="$why tiles $tiles, one-process store $REF_TILES;"
	[ "$skipped" = "$REF_SKIPPED" ] || why="$why skipped $skipped, one-process store $REF_SKIPPED;"
	[ "$stores" = "$n" ] || why="$why runs from $stores stores, want $n;"
	if [ -z "$why" ]; then ok "$name: merged report adds up"; else bad "$name: merged report" "$why"; fi
}

# ---- GNU parallel ----------------------------------------------------------
stamp "GNU parallel: examples/parallel.sh, 3 shards"
if TILEPAINT=$TP TILEPAINT_MASKS=$S/masks TILEPAINT_OPTS="$OPTS" THREADS=1 \
	sh "$PARALLEL_SCRIPT" "$S/in" "$S/par" 3 > "$S/parallel.log" 2>&1; then
	ok "parallel: 3 shards exit 0"
else
	bad "parallel: 3 shards" "exit $?: $(tail -n 3 "$S/parallel.log" | tr '\n' ' ')"
fi
same_outputs parallel "$S/par"
shard_stores parallel "$S/par" 3
merged_report parallel "$S/par" 3

# ---- the Slurm cluster -----------------------------------------------------
stamp "starting a single-node Slurm cluster in $S"
mkdir -p "$S/munge" "$S/run" "$S/ctld" "$S/spool" "$S/log" "$S/jobs"
chmod 700 "$S/munge"
chmod 755 "$S/run"
# The daemons run in their own sessions (setsid; in a background job of this
# non-interactive shell it execs, so $! is the daemon): a Ctrl-C reaches this
# script, which cancels the jobs and stops them, not the daemons first.
# munge: a fresh key (munged wants it 0400 and owned by its user), our own
# socket, pid, log and seed files.
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$S/munge/munge.key"
MUNGE_SOCK=$S/run/munge.sock
setsid munged -F --key-file="$S/munge/munge.key" --socket="$MUNGE_SOCK" \
	--pid-file="$S/run/munged.pid" --log-file="$S/log/munged.log" \
	--seed-file="$S/munge/munged.seed" > "$S/log/munged.out" 2>&1 &
daemon_pids="$!"
wait_for 10 test -S "$MUNGE_SOCK" || { bad "munged" "did not start: $(tail -n 3 "$S/log/munged.out" | tr '\n' ' ')"; }

# slurm.conf: this host as controller and only node. No cgroups (the
# sandbox's, or a desktop's, may be read-only or v1/v2 mixed):
# proctrack/linuxproc follows the job's processes by parent pid,
# task/none binds nothing, no accounting daemon (slurmdbd); ports of our own,
# so a system Slurm on 6817/6818 is not disturbed; MinJobAge keeps finished
# array tasks visible to scontrol for the checks. The node's address is
# 127.0.0.1 and the controller's too (SlurmctldHost=NAME(ADDR)), so nothing
# depends on the host name resolving (sandboxes and laptops often map it
# nowhere useful); CPUs=2 with SlurmdParameters=config_overrides, so a
# 1-CPU machine is not drained for having fewer than configured.
HOST=$(hostname -s)
MEM=$(free -m | awk '/^Mem:/ { print int($2 * 0.8) }')
PORT=$((20000 + $$ % 20000))
export SLURM_CONF="$S/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=tpcheck
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=30
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
setsid slurmctld -D -f "$SLURM_CONF" > "$S/log/slurmctld.out" 2>&1 &
ctld_pid=$!
daemon_pids="$daemon_pids $ctld_pid"
wait_for 20 scontrol ping || true
setsid slurmd -D -f "$SLURM_CONF" > "$S/log/slurmd.out" 2>&1 &
daemon_pids="$daemon_pids $!"
node_idle() { [ "$(sinfo -h -n "$HOST" -o %T 2>/dev/null)" = idle ]; }
if wait_for 60 node_idle; then
	ok "slurm: slurmctld and slurmd up, node $HOST idle ($(sinfo -V))"
	SLURM_UP=1
else
	bad "slurm: cluster" "node not idle: $(sinfo 2>&1 | tail -n 1); $(tail -n 2 "$S/log/slurmd.out" | tr '\n' ' ')"
	SLURM_UP=0
fi

# task_state JOB K: the state of array task K
task_state() { scontrol show job "$1_$2" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }
# array_done JOB: no task of the array is pending or running
array_done() { [ -z "$(squeue -h -j "$1" -t PD,R,CG,S 2>/dev/null)" ]; }
# submit OUT [sbatch options]: the array job's id; the example script as a
# user would submit it, its settings overridden on the command line
submit() {
	out=$1; shift
	TILEPAINT=$TP TILEPAINT_IN=$S/in TILEPAINT_MASKS=$S/masks TILEPAINT_OUT=$out \
	TILEPAINT_SHARDS=3 TILEPAINT_OPTS="$OPTS" TILEPAINT_MAX_TIME=${MAXT:-20m} \
	sbatch --parsable --array=1-3 --cpus-per-task=1 --mem=500M --time=30:00 \
		--chdir="$S/jobs" --output="$S/jobs/%x-%A_%a.log" "$@" "$SLURM_SCRIPT"
}
# all_completed JOB: every task of the array ended COMPLETED (exit 0)
all_completed() {
	for k in 1 2 3; do
		st=$(task_state "$1" "$k")
		[ "$st" = COMPLETED ] || { echo "task $k: ${st:-gone}"; return 1; }
	done
}

if [ "$SLURM_UP" = 1 ]; then
	stamp "Slurm: examples/slurm-array.sh as a 3-task array"
	if job=$(submit "$S/slurm" --wait 2> "$S/sbatch.err"); then
		ok "slurm: sbatch --wait --array=1-3 exit 0 (job $job)"
	else
		bad "slurm: array" "sbatch --wait exit $?: $(tail -n 2 "$S/sbatch.err" | tr '\n' ' ') $(cat "$S/jobs/"*.log 2>/dev/null | tail -n 5 | tr '\n' ' ')"
	fi
	job=${job%%;*}
	if why=$(all_completed "$job"); then ok "slurm: 3 tasks COMPLETED"; else bad "slurm: tasks" "$why"; fi
	same_outputs slurm "$S/slurm"
	shard_stores slurm "$S/slurm" 3
	merged_report slurm "$S/slurm" 3
else
	bad "slurm: array" "skipped, no cluster"
fi

# ---- requeue after preemption ----------------------------------------------
# The shard that holds big.png (what --dry-run --shard K/3 lists).
BIGK=""
for k in 1 2 3; do
	"$TP" run "$S/in" -r --masks "$S/masks" -o "$S/rq" --shard "$k/3" $OPTS --dry-run 2>/dev/null |
		grep -q "^$S/in/big.png:" && BIGK=$k
done
RQDB=$S/rq/.tilepaint-$BIGK-of-3.db
BIG_ACTIVE=$(sql "$REF_DB" "select count(*) from tiles t join jobs j on j.id = t.job_id where j.input = '$S/in/big.png' and t.state = 1")
big_done() { sql "$RQDB" "select count(*) from tiles t join jobs j on j.id = t.job_id where j.input = '$S/in/big.png' and t.state = 1"; }
# big_reached N: at least N tiles of big.png stored, and the image not finished
big_reached() {
	n=$(big_done); [ "${n:-0}" -ge "$1" ] && [ "$n" -lt "$BIG_ACTIVE" ]
}
snapshot() { sql "$RQDB" "select t.idx, t.engine_ms from tiles t join jobs j on j.id = t.job_id where j.input = '$S/in/big.png' and t.state = 1" | LC_ALL=C sort > "$1"; }
# the running tilepaint of that shard: the store's open run
tp_pid() { sql "$RQDB" "select pid from runs where ended is null order by id desc limit 1"; }
proc_gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
running() { [ "$(task_state "$1" "$2")" = RUNNING ]; }
# A requeued job waits two minutes before it may start (Slurm's requeue
# delay); start_now starts it sooner. Not at once: slurmd refuses to launch a
# job again in the second its previous instance was killed ("Job credential
# revoked", credential times are whole seconds), so the job must have been
# pending, its old instance gone, for two seconds first.
start_now() {
	wait_for 60 sh -c "scontrol show job '$1' | grep -q 'JobState=PENDING'" || return 1
	sleep 2
	scontrol update JobId="$1" StartTime=now >/dev/null 2>&1
}

rq_fail() { bad "requeue" "$1"; RQ_OK=0; }
RQ_OK=1
if [ "$SLURM_UP" != 1 ] || [ -z "$BIGK" ]; then
	rq_fail "skipped (cluster up: $SLURM_UP, shard of big.png: ${BIGK:-none})"
else
	stamp "Slurm: requeue after preemption (shard $BIGK/3 holds big.png, $BIG_ACTIVE tiles to inpaint)"
	job=$(submit "$S/rq" 2> "$S/sbatch.err") || rq_fail "sbatch: $(cat "$S/sbatch.err")"
	job=${job%%;*}
	T="${job}_$BIGK"
	step=40
	# 1. preempted: scontrol requeue on the running task; Slurm signals it,
	# tilepaint stops at a tile boundary (exit 75) and the task is requeued
	if [ $RQ_OK = 1 ] && wait_for 300 big_reached $step; then
		pid=$(tp_pid)
		scontrol requeue "$T" || rq_fail "scontrol requeue $T failed"
		wait_for 60 proc_gone "$pid" || rq_fail "tilepaint $pid still running 60 s after the requeue"
		snapshot "$S/snap1"
		n1=$(wc -l < "$S/snap1")
		[ "$(sql "$RQDB" "select exit_status from runs order by id desc limit 1")" = 75 ] ||
			rq_fail "the preempted run did not end with exit 75 (stopped cleanly)"
		start_now "$T"
		if wait_for 120 big_reached $((n1 + step)); then
			ok "requeue: preempted task (scontrol requeue) stopped cleanly with $n1 tiles stored, requeued and resumed"
		else
			rq_fail "the requeued task did not resume (state $(task_state "$job" "$BIGK"), $(big_done) tiles)"
		fi
	elif [ $RQ_OK = 1 ]; then
		rq_fail "big.png never reached $step tiles ($(big_done) of $BIG_ACTIVE)"
	fi
	# 2. killed: SIGKILL to tilepaint in the middle of the image, the task
	# fails; scontrol requeue puts it back
	if [ $RQ_OK = 1 ]; then
		pid=$(tp_pid)
		kill -9 "$pid"
		wait_for 30 proc_gone "$pid" || rq_fail "tilepaint $pid survived SIGKILL"
		snapshot "$S/snap2"
		n2=$(wc -l < "$S/snap2")
		[ "$n2" -lt "$BIG_ACTIVE" ] || rq_fail "big.png finished before the kill; make it larger"
		# a finished task can be requeued once it has left COMPLETING
		ended() { case $(task_state "$job" "$BIGK") in FAILED|COMPLETED|CANCELLED) return 0 ;; esac; return 1; }
		wait_for 60 ended || rq_fail "task $T did not end after its tilepaint was killed ($(task_state "$job" "$BIGK"))"
		st=$(task_state "$job" "$BIGK")
		scontrol requeue "$T" || rq_fail "scontrol requeue $T (state $st) failed"
		start_now "$T"
		again() { case $(task_state "$job" "$BIGK") in PENDING|RUNNING) return 0 ;; esac; return 1; }
		wait_for 10 again || rq_fail "task $T not requeued: $(task_state "$job" "$BIGK")"
		[ $RQ_OK = 1 ] && ok "requeue: task killed (SIGKILL, task $st) with $n2 tiles stored, requeued"
	fi
	if [ $RQ_OK = 1 ]; then
		wait_for 600 array_done "$job" || rq_fail "the array did not finish"
		if why=$(all_completed "$job"); then ok "requeue: all tasks COMPLETED in the end"; else rq_fail "$why"; fi
		# the tiles stored before each interruption were not computed again:
		# same rows (engine_ms is the time of the one computation) ...
		snapshot "$S/snap3"
		for s in snap1 snap2; do
			if [ -n "$(comm -23 "$S/$s" "$S/snap3")" ]; then
				rq_fail "tiles stored before the interruption ($s) were computed again"
			fi
		done
		# ... and the run after the kill reused exactly what was stored
		log=$S/jobs/tilepaint-${job}_$BIGK.log
		reused=$(sed -n 's/.*tiles: [0-9]* inpainted, \([0-9]*\) reused.*/\1/p' "$log" | tail -n 1)
		[ "${reused:-x}" = "$n2" ] || rq_fail "the last run reused ${reused:-?} tiles, $n2 were stored"
		runs=$(sql "$RQDB" "select count(*) from runs")
		[ "$runs" = 3 ] || rq_fail "shard $BIGK's store has $runs runs, want 3 (preempted, killed, finished)"
		[ $RQ_OK = 1 ] && ok "requeue: stored tiles not redone ($n1, then $n2 kept; $reused reused by the last run)"
		eq_int=$(sql "$RQDB" "pragma integrity_check")
		[ "$eq_int" = ok ] || rq_fail "store integrity: $eq_int"
	fi
	same_outputs requeue "$S/rq"
	merged_report requeue "$S/rq" 3
fi

# ---- --max-time: the task requeues itself ----------------------------------
# Only shard BIGK of 3 resubmitted (--array=K keeps the split: N is the
# script's, not the array's), stopped by --max-time every few seconds with
# work left (exit 75): slurm-array.sh requeues the task each time until done.
if [ "$SLURM_UP" = 1 ] && [ -n "$BIGK" ]; then
	stamp "Slurm: --max-time 6s, shard $BIGK/3 alone, requeueing itself"
	job=$(MAXT=6s TILEPAINT_MAX_REQUEUE=1000 submit "$S/self" --array="$BIGK" 2> "$S/sbatch.err") ||
		bad "self-requeue: sbatch" "$(cat "$S/sbatch.err")"
	job=${job%%;*}
	T="${job}_$BIGK"
	i=0
	while [ $i -lt 3000 ] && ! array_done "$job"; do
		# each requeue waits Slurm's requeue delay; start it at once
		scontrol show job "$T" 2>/dev/null | grep -q 'Reason=BeginTime' && { start_now "$T" || true; }
		sleep 0.2; i=$((i + 1))
	done
	restarts=$(scontrol show job "$T" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
	st=$(task_state "$job" "$BIGK")
	runs=$(sql "$S/self/.tilepaint-$BIGK-of-3.db" "select count(*) from runs")
	stopped=$(sql "$S/self/.tilepaint-$BIGK-of-3.db" "select count(*) from runs where exit_status = 75")
	if [ "$st" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] && [ "$stopped" -ge 1 ] &&
	   [ "$runs" = $((restarts + 1)) ]; then
		ok "self-requeue: $stopped runs stopped by --max-time (75), task requeued itself $restarts times, COMPLETED"
	else
		bad "self-requeue" "state ${st:-gone}, restarts ${restarts:-?}, runs $runs, stopped $stopped: $(tail -n 3 "$S/jobs/tilepaint-$T.log" 2>/dev/null | tr '\n' ' ')"
	fi
	"$TP" run "$S/in" -r --masks "$S/masks" -o "$S/self" --shard "$BIGK/3" $OPTS --dry-run 2>/dev/null |
		sed -n "s|^$S/in/\([^:]*\):.*|\1|p" > "$S/mine.txt"
	why=""
	[ -s "$S/mine.txt" ] || why="no images listed for shard $BIGK"
	while read -r f; do
		[ -f "$S/self/$f" ] || { why="$f missing"; break; }
		cmp -s "$S/ref/$f" "$S/self/$f" || { why="$f differs from the one-process run"; break; }
	done < "$S/mine.txt"
	if [ -z "$why" ]; then ok "self-requeue: shard $BIGK's $(wc -l < "$S/mine.txt") outputs byte-identical"; else bad "self-requeue: outputs" "$why"; fi
fi

stamp "end"
[ -z "$failed_names" ] || echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
