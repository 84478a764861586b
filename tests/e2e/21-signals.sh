# SIGINT, SIGTERM and SIGHUP are honoured at every stage: decoding, the
# mask pass, the guide pass, streaming the band (skipped tiles included),
# encoding and just before the output is put in place. Each gives exit 75,
# no temporary left, a consistent store, and the next run resumes to bytes
# identical to an uninterrupted run. (The process freezes itself at the
# stage, TILEPAINT_TEST_FREEZE, the signal is sent while it is stopped and
# takes effect when it continues; no timing is involved.)
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/x.png 700 500 3 8 9
# a thick hole (the guide pass runs) and a clean top band (skipped tiles)
"$TOOL" mask in/x_mask.png 700 500 rect:300,260,150,140 spots:1,2
OPTS="--engine harmonic --tile 96 --overlap 24 -j 2 -q"
expect_exit 0 "$TP" run in -o ref $OPTS
DB=out/.tilepaint.db
sigs="TERM INT HUP"
for stage in decode mask guide band encode publish; do
	sig=${sigs%% *}; sigs="${sigs#* } $sig"
	note "SIG$sig at $stage"
	rm -rf out
	TILEPAINT_TEST_FREEZE=stage:$stage "$TP" run in -o out $OPTS 2>"$T/a.err" &
	a=$!
	wait_stopped $a
	kill -$sig $a
	t0=$(date +%s%N)
	kill -CONT $a
	set +e; wait $a; rc=$?; set -e
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	note "exited $rc after $ms ms"
	eq "$rc" 75 "exit status after SIG$sig at $stage"
	[ "$ms" -lt 20000 ] || fail "took $ms ms to stop"
	grep -q "error" "$T/a.err" && { cat "$T/a.err"; fail "an error line after a signal"; }
	[ ! -e out/x.png ] || fail "an output after SIG$sig at $stage"
	no_temps out
	eq "$(sql $DB "pragma integrity_check")" ok "integrity"
	eq "$(sql $DB "select state from jobs")" 0 "job given back (queued)"
	expect_exit 0 "$TP" run in -o out $OPTS
	cmp out/x.png ref/x.png || fail "resumed output differs after SIG$sig at $stage"
done
