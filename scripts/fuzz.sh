#!/bin/sh
# fuzz.sh BUILD SECONDS - run every libFuzzer target in BUILD/tests for SECONDS
# each, starting from the committed corpus (tests/fuzz/corpus/<target>, never
# written: new inputs go to BUILD/corpus/<target>), crashes saved under
# BUILD/artifacts/<target>/. Prints per target the runs, the CPU seconds and
# what was found; exit 1 when any target found a crash, leak or timeout.
set -u
BUILD=${1:?usage: fuzz.sh BUILD SECONDS}
SECS=${2:-60}
TOP=$(cd "$(dirname "$0")/.." && pwd)
found=0
for bin in "$BUILD"/tests/fuzz_*; do
	case "$bin" in *.o|*.d) continue ;; esac
	[ -x "$bin" ] || continue
	t=${bin##*/fuzz_}
	work="$BUILD/corpus/$t" art="$BUILD/artifacts/$t"
	mkdir -p "$work" "$art"
	log="$BUILD/fuzz-$t.log"
	/usr/bin/env time -f '%U %S' -o "$BUILD/fuzz-$t.time" \
		"$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$art/" -print_final_stats=1 \
		"$work" "$TOP/tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	cpu=$(awk '{printf "%.0f", $1 + $2}' "$BUILD/fuzz-$t.time" 2>/dev/null || echo "?")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	crashes=$(ls "$art" | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
		found=1
		echo "fuzz_$t: ${runs:-?} runs, ${cpu}s CPU: FOUND $crashes (see $art, $log)"
		grep -m 3 "ERROR\|SUMMARY" "$log" | sed 's/^/    /'
	else
		echo "fuzz_$t: ${runs:-?} runs, ${cpu}s CPU, corpus $(ls "$work" | wc -l) inputs: nothing found"
	fi
done
exit $found
