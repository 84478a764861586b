#!/bin/sh
# parallel.sh - tilepaint in N shards with GNU parallel (Debian package
# `parallel`), on this machine or over ssh on several.
#
#   examples/parallel.sh INPUT OUT [N]
#   examples/parallel.sh /data/scans /data/clean 3                 # 3 shards here
#   HOSTS=node1,node2,node3 examples/parallel.sh /data/scans /data/clean 3
#
# Shard K of N (--shard K/N) inpaints the K-th of N disjoint shares of the
# images, chosen by a hash of each image's relative name, so the shards agree
# on the split without talking to each other. All shards write OUT (with
# HOSTS: a directory every host sees at the same path, as INPUT and MASKS);
# each keeps its own job store there, OUT/.tilepaint-K-of-N.db, opened by that
# shard alone (SQLite's locking is not safe over NFS: two hosts must never
# open one store; see README, "Running on a cluster"). Run the same command
# again after an interruption (Ctrl-C, a reboot, a host lost): every shard
# resumes at the tiles it had not finished, and the outputs are
# byte-identical to an uninterrupted run. Merge the shards' reports with
#   tilepaint report --db OUT/.tilepaint-1-of-N.db --db OUT/.tilepaint-2-of-N.db ...
#
# Environment (all optional):
#   TILEPAINT        the binary (default: tilepaint on PATH, on every host)
#   TILEPAINT_MASKS  mask tree parallel to INPUT (--masks); unset: masks beside the images
#   TILEPAINT_OPTS   more options for every shard, e.g. "--engine telea --max-time 50m"
#   THREADS          worker threads per shard (-j; default: this machine's CPUs / N, at least 1)
#   HOSTS            ssh logins for parallel -S (host1,host2 or user@host); unset: this machine
#   PER_HOST         shards at once per host (default: N here, 1 per host with HOSTS)
#
# Exit status: the worst of the shards' exit codes in tilepaint's order
# (0 < 65 < 66 < 75 < 73 < 74 < 78 < 70, see `tilepaint --exit-codes`); 75
# means some shard stopped with work left: run again to finish.
set -eu

[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: parallel.sh INPUT OUT [N]" >&2; exit 64; }
IN=$1 OUT=$2 N=${3:-3}
TILEPAINT=${TILEPAINT:-tilepaint}
OPTS=${TILEPAINT_OPTS:-}
case $N in ''|*[!0-9]*|0) echo "parallel.sh: N must be a positive number, not '$N'" >&2; exit 64 ;; esac
command -v parallel >/dev/null 2>&1 || { echo "parallel.sh: GNU parallel is not installed (apt-get install parallel)" >&2; exit 69; }

if [ -n "${HOSTS:-}" ]; then
	set -- -S "$HOSTS"
	PER_HOST=${PER_HOST:-1}
	THREADS=${THREADS:-0}           # 0: tilepaint's default, the host's CPUs
else
	set --
	PER_HOST=${PER_HOST:-$N}
	cpus=$(nproc 2>/dev/null || echo 1)
	THREADS=${THREADS:-$(( cpus / N > 0 ? cpus / N : 1 ))}
fi
jopt=""
[ "$THREADS" -gt 0 ] && jopt="-j $THREADS"

joblog=$(mktemp "${TMPDIR:-/tmp}/tilepaint-parallel.XXXXXX")
trap 'rm -f "$joblog"' EXIT

# One job per shard number. --quote passes each word of the command as one
# argument (paths with spaces survive, also over ssh); --line-buffer keeps
# the shards' lines whole; --tagstring prefixes each with its shard.
# TILEPAINT_MASKS and OPTS are split into words on purpose.
# shellcheck disable=SC2086
seq 1 "$N" | parallel --will-cite --quote --line-buffer --tagstring "shard {}/$N:" --joblog "$joblog" \
	-j "$PER_HOST" "$@" \
	"$TILEPAINT" run "$IN" -r ${TILEPAINT_MASKS:+--masks "$TILEPAINT_MASKS"} -o "$OUT" \
	--shard "{}/$N" $jopt $OPTS || true

# The joblog has one line per shard; column 7 is its exit value, 8 its signal.
worst=0
rank() {
	case $1 in 0) echo 0 ;; 65) echo 1 ;; 66) echo 2 ;; 75) echo 3 ;; 73) echo 4 ;;
	74) echo 5 ;; 78) echo 6 ;; *) echo 7 ;; esac
}
ran=0
while IFS='	' read -r seq host start runtime send recv code sig cmd; do
	[ "$seq" = Seq ] && continue
	ran=$((ran + 1))
	[ "$sig" = 0 ] || code=75       # killed by a signal: run again to resume
	[ "$(rank "$code")" -gt "$(rank "$worst")" ] && worst=$code
	host=${host#:}
	[ "$code" -eq 0 ] || echo "parallel.sh: shard $seq/$N on ${host:-this host} exited $code" >&2
	: "$start $runtime $send $recv $cmd"
done < "$joblog"
[ "$ran" -eq "$N" ] || { echo "parallel.sh: only $ran of $N shards ran" >&2; [ "$worst" -ne 0 ] || worst=75; }
exit "$worst"
