# common.sh - sourced by every end-to-end test: paths, a scratch directory
# removed on exit, and small assertion helpers. Tests drive the real binary.
set -eu
TP=${TP_BIN:?run through scripts/run-tests.sh}
TOOL="$TP_TOOLS/tptool"
T=$(mktemp -d "${TMPDIR:-/tmp}/tp-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# expect_exit CODE cmd...: run cmd, require exit status CODE; output in $T/out, $T/err
expect_exit() {
	want=$1; shift
	set +e
	"$@" >"$T/.stdout" 2>"$T/.stderr"
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "stdout:"; cat "$T/.stdout"; echo "stderr:"; cat "$T/.stderr"
		fail "expected exit $want, got $got: $*"
	fi
}
# grep_err PATTERN: stderr of the last expect_exit contains PATTERN
grep_err() { grep -q -- "$1" "$T/.stderr" || { cat "$T/.stderr"; fail "stderr lacks '$1'"; }; }
grep_out() { grep -q -- "$1" "$T/.stdout" || { cat "$T/.stdout"; fail "stdout lacks '$1'"; }; }
# sql DB QUERY: one value
sql() { sqlite3 -batch -noheader "$1" "$2"; }
eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"; }
# wait_stopped PID: wait (at most 60 s) until process PID has stopped itself
# (state T: TILEPAINT_TEST_FREEZE); fail if it exits or never stops.
wait_stopped() {
	_i=0
	while :; do
		_s=$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
		[ "$_s" = T ] && return 0
		[ -n "$_s" ] || fail "process $1 ended before it froze"
		_i=$((_i + 1)); [ $_i -lt 6000 ] || { kill -9 "$1"; fail "process $1 never froze"; }
		sleep 0.01
	done
}
# no_temps DIR: no temporary output is left in DIR
no_temps() { ! ls -aR "$1" | grep -q '\.tmp-' || fail "temporary files left in $1: $(ls -aR "$1" | grep '\.tmp-')"; }
# kill_at_tile N CMD...: run CMD (stderr dropped) until it has committed its
# N-th tile (TILEPAINT_TEST_FREEZE stops it there, whatever the timing), then
# kill -9 it and reap it.
kill_at_tile() {
	_n=$1; shift
	TILEPAINT_TEST_FREEZE=tile:$_n "$@" 2>/dev/null &
	_pid=$!
	wait_stopped $_pid
	kill -9 $_pid
	wait $_pid 2>/dev/null || true
}
# kill_at_tiles PID DB N [WHERE]: once DB holds N finished tiles (those of the
# jobs j matching the SQL condition WHERE, default all), kill -9 PID and reap
# it; fail when that does not happen within 30 s.
kill_at_tiles() {
	_q="select count(*) from tiles t join jobs j on j.id = t.job_id where t.state = 1 and (${4:-1})"
	_i=0
	while :; do
		_n=$(sqlite3 "$2" "$_q" 2>/dev/null || echo 0)
		[ "${_n:-0}" -ge "$3" ] && break
		_i=$((_i + 1)); [ $_i -lt 3000 ] || { kill -9 "$1"; fail "no $3 tiles finished in time in $2"; }
		sleep 0.01
	done
	kill -9 "$1"
	wait "$1" 2>/dev/null || true
}
