#!/bin/sh
# demo.sh BIN - the main job on examples/ with the default engine, then the
# store's view of it. Run again: it is a no-op (everything is up to date).
set -eu
BIN=${1:-build/tilepaint}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
echo "+ $BIN run examples -o demo-out"
"$BIN" run examples -o demo-out
echo
echo "+ $BIN status -o demo-out"
"$BIN" status -o demo-out
echo
echo "+ $BIN report -o demo-out"
"$BIN" report -o demo-out
echo
echo "outputs are in demo-out/; run 'make demo' again to see a resumed, no-op run"
