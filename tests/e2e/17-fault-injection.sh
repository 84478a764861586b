# Fault injection: the n-th write, fsync, rename, open or malloc of a small
# batch fails (EIO, ENOSPC, ENOMEM) through the LD_PRELOAD shim
# (tests/faultinj). Every n must give a clean end (an exit code from the
# table, never a crash or a sanitizer report), a store that passes
# integrity_check, no temporary files, and a next, undisturbed run whose
# outputs are byte-identical to a run that never saw a fault.
. "$(dirname "$0")/common.sh"
SHIM="$TP_TOOLS/libfaultinj.so"
[ -f "$SHIM" ] || fail "the shim $SHIM is not built (make tests)"
# the shim loads before a sanitizer runtime in SAN builds; that is fine here
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
mkdir in
"$TOOL" gen in/a.png 160 120 3 8 1
"$TOOL" gen in/b.tif 130 90 1 16 2
"$TOOL" gen in/c.jpg 120 100 3 8 3
"$TOOL" mask in/a_mask.png 160 120 disk:80,60,12
"$TOOL" mask in/b_mask.png 130 90 rect:20,20,30,10
"$TOOL" mask in/c_mask.png 120 100 disk:30,70,9
OPTS="--engine telea --tile 64 --overlap 16 -j 2 -q"

expect_exit 0 "$TP" run in -o ref $OPTS
# how many calls of each kind an undisturbed run makes
rm -rf probe
LD_PRELOAD="$SHIM" FAULT_COUNT="$T/counts" "$TP" run in -o probe $OPTS || fail "probe run"
cat "$T/counts"
# allocations made before main (OpenBLAS's initialisation aborts the process
# on ENOMEM, as any library constructor may): faults start after them
LD_PRELOAD="$SHIM" FAULT_COUNT="$T/counts0" "$TP" run --help >/dev/null || fail "probe --help"
base_malloc=$(sed -n 's/^malloc //p' "$T/counts0")

# n = 1..12, then every step-th call up to the count (at most ~40 per kind)
points() {
	_c=$(sed -n "s/^$1 //p" "$T/counts")
	_b=0
	[ "$1" = malloc ] && _b=${base_malloc:-0}
	[ -n "$_c" ] && [ "$_c" -gt "$_b" ] || return 0
	_step=$(( (_c - _b) / 28 + 1 ))
	_n=1
	while [ $((_b + _n)) -le "$_c" ]; do
		echo $((_b + _n))
		if [ "$_n" -lt 12 ]; then _n=$((_n + 1)); else _n=$((_n + _step)); fi
	done
	echo "$_c"
}

tried=0 fired=0
for op in write fsync rename open malloc; do
	case $op in
	malloc) errs=ENOMEM ;;
	write) errs="ENOSPC EIO" ;;
	*) errs=EIO ;;
	esac
	for err in $errs; do
		for n in $(points $op | sort -un); do
			out="o-$op-$err-$n"
			rm -f "$T/fc"
			set +e
			# env inside timeout: only tilepaint is preloaded (timeout's own
			# calls and its exit would spoil the counts)
			timeout -k 5 120 env LD_PRELOAD="$SHIM" FAULT_OP=$op FAULT_N=$n FAULT_ERRNO=$err \
				FAULT_COUNT="$T/fc" "$TP" run in -o "$out" $OPTS >"$T/.stdout" 2>"$T/.stderr"
			rc=$?
			set -e
			tried=$((tried + 1))
			grep -q "^fired" "$T/fc" 2>/dev/null && fired=$((fired + 1))
			case $rc in
			0|65|66|70|73|74|75) ;;
			*) cat "$T/.stderr"; fail "$op #$n ($err): exit $rc" ;;
			esac
			if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error\|Segmentation" "$T/.stderr"; then
				cat "$T/.stderr"; fail "$op #$n ($err): sanitizer report"
			fi
			[ $rc -eq 0 ] || [ -s "$T/.stderr" ] || fail "$op #$n ($err): exit $rc with no message"
			if [ -f "$out/.tilepaint.db" ]; then
				ok=$(sqlite3 "$out/.tilepaint.db" "pragma integrity_check" 2>&1)
				eq "$ok" "ok" "$op #$n ($err): store integrity"
			fi
			[ ! -d "$out" ] || no_temps "$out"
			# the next run, undisturbed, finishes the batch with the same bytes
			expect_exit 0 "$TP" run in -o "$out" $OPTS
			for f in a.png b.tif c.jpg; do
				cmp -s "ref/$f" "$out/$f" || fail "$op #$n ($err): $f differs after the resume"
			done
			rm -rf "$out"
		done
	done
done
note "$tried faulted runs ($fired faults fired), each resumed byte-identical"
[ "$fired" -gt 20 ] || fail "only $fired faults fired: the shim is not reaching the calls"
