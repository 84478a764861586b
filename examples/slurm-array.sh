#!/bin/sh
# slurm-array.sh - tilepaint over a Slurm job array. Array task K of N
# inpaints the K-th of N disjoint shares of the images (--shard K/N, chosen
# by a hash of each image's relative name, so every task agrees on the split
# without talking to the others). All tasks write one output directory on
# the shared file system; each task keeps its own job store there,
# OUT/.tilepaint-K-of-N.db, opened by that task alone (SQLite's locking is not
# safe over NFS: two hosts must never open one store; see README, "Running on
# a cluster").
#
#   sbatch examples/slurm-array.sh                     # 8 tasks, the defaults below
#   TILEPAINT_SHARDS=3 sbatch --array=1-3 examples/slurm-array.sh
#   sbatch --array=2 examples/slurm-array.sh           # redo shard 2 of 8 only
#
# Copy it and edit the defaults, or set the variables when submitting (sbatch
# passes the submitting environment to the job). --array must run from 1 to
# TILEPAINT_SHARDS: the number of shards is fixed here, not taken from the
# array, so resubmitting a few tasks (--array=2,5) keeps the same split.
#
# Preemption, node failure, a time limit, `scontrol requeue`: the task is
# requeued (--requeue) and starts again from the top; tilepaint resumes at the
# tiles that were not finished (the outputs are byte-identical to an
# uninterrupted run). An image leased by a task killed on this node is taken
# over at once; one leased on a node that vanished, when its lease expires
# (--lease, default 10m). When tilepaint stops itself with work left (exit 75:
# --max-time reached, or an image still leased elsewhere), the task requeues
# itself, at most TILEPAINT_MAX_REQUEUE times.
#
#SBATCH --job-name=tilepaint
#SBATCH --array=1-8
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=tilepaint-%A_%a.log
set -u

TILEPAINT=${TILEPAINT:-tilepaint}             # the binary (on every node's PATH)
IN=${TILEPAINT_IN:-/data/scans}               # input directory (searched with -r)
MASKS=${TILEPAINT_MASKS-/data/masks}          # mask tree parallel to IN ("": masks beside)
OUT=${TILEPAINT_OUT:-/data/clean}             # one output directory for all tasks
N=${TILEPAINT_SHARDS:-8}                      # number of shards = the array's size
MAX_TIME=${TILEPAINT_MAX_TIME-3h50m}          # stop cleanly before --time ends (""; none)
MAX_REQUEUE=${TILEPAINT_MAX_REQUEUE:-10}
OPTS=${TILEPAINT_OPTS:-}                      # more options, e.g. "--engine telea"

K=${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=1-N}
if [ "$K" -lt 1 ] || [ "$K" -gt "$N" ]; then
	echo "slurm-array.sh: array task $K is not one of shards 1-$N (set TILEPAINT_SHARDS)" >&2
	exit 64
fi

# Slurm signals every process of the job (scancel, preemption, the time
# limit): tilepaint stops itself at a tile boundary within about a second,
# keeping the finished tiles, and exits 75. The shell only notes it, so that
# it does not requeue a task someone cancelled (preemption requeues by itself).
signalled=0
trap 'signalled=1' TERM INT

echo "shard $K/$N on $(hostname) (restart ${SLURM_RESTART_COUNT:-0}), $(date '+%F %T')"
# OPTS is split into words on purpose.
# shellcheck disable=SC2086
"$TILEPAINT" run "$IN" -r ${MASKS:+--masks "$MASKS"} -o "$OUT" --shard "$K/$N" \
	-j "${SLURM_CPUS_PER_TASK:-1}" ${MAX_TIME:+--max-time "$MAX_TIME"} $OPTS
rc=$?

if [ "$rc" -eq 75 ] && [ "$signalled" -eq 0 ] &&
   [ "${SLURM_RESTART_COUNT:-0}" -lt "$MAX_REQUEUE" ]; then
	echo "shard $K/$N: work left (exit 75), requeueing this task"
	scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
fi
exit "$rc"
