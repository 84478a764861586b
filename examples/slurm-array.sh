#!/bin/sh
# Slurm job array: N shards of one image directory, each with its own store.
#SBATCH --job-name=tilepaint
#SBATCH --array=1-8
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=04:00:00
set -eu
N=${SLURM_ARRAY_TASK_COUNT:-8}
K=${SLURM_ARRAY_TASK_ID:?run under sbatch}
exec tilepaint run /data/scans -r --masks /data/masks -o "/data/clean/shard-$K" \
	--shard "$K/$N" -j "${SLURM_CPUS_PER_TASK:-1}" --max-time 3h50m --quiet
