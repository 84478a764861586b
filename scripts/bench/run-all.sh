#!/bin/sh
# run-all.sh BUILD - every benchmark under scripts/bench/, in turn.
# Each prints ratios against a reference measured in the same invocation.
set -eu
BUILD=${1:-build}
DIR=$(cd "$(dirname "$0")" && pwd)
for b in pipeline encode sign jpeg dem lama quality; do
	if [ -x "$DIR/$b.sh" ]; then
		echo "=== $b"
		"$DIR/$b.sh" "$BUILD" || echo "=== $b failed (exit $?)"
	fi
done
