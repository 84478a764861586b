#!/bin/sh
# run-tests.sh BUILD - run every unit test binary and end-to-end script, print
# each failure, and end with the line "N passed, N failed".
# cmocka cases count one each; an e2e script counts one. Exit 1 on any failure.
# TESTS=pattern limits the run to tests whose name contains pattern.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
export TP_BIN="$BUILD/tilepaint" TP_TOOLS="$BUILD/tests" TP_TOP="$TOP"
pass=0 fail=0 failed_names=""
log=$(mktemp -d "${TMPDIR:-/tmp}/tp-tests.XXXXXX")
trap 'rm -rf "$log"' EXIT

note_fail() { fail=$((fail + $2)); failed_names="$failed_names $1"; }

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue ;; esac
	name=$(basename "$t")
	case "$name" in *"${TESTS:-}"*) ;; *) continue ;; esac
	out="$log/$name.out"
	"$t" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	pass=$((pass + p))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		[ "$f" -gt 0 ] || f=1
		note_fail "$name" "$f"
		echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$out" | tail -n 40
	else
		echo "ok   $name ($p cases)"
	fi
done

for t in "$TOP"/tests/e2e/[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case "$name" in *"${TESTS:-}"*) ;; *) continue ;; esac
	out="$log/$name.out"
	if sh "$t" >"$out" 2>&1; then
		pass=$((pass + 1)); echo "ok   e2e/$name"
	else
		note_fail "e2e/$name" 1
		echo "FAIL e2e/$name"; sed 's/^/    /' "$out" | tail -n 40
	fi
done

[ -z "$failed_names" ] || echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
