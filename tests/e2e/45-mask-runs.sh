# The first pass over a mask keeps it as runs, and the later passes (the
# band loop, the guide, a smaller tile under --mem-limit) read those instead
# of the mask file: the outputs are byte-identical to reading the file on
# every pass (TILEPAINT_TEST_RUNS_BUDGET=0, as for a mask too dense to keep),
# with dilation, with a guide and with a replan, and the mask file is opened
# once fewer.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" strace
"$TOOL" gen a.png 900 700 3 8 5
"$TOOL" mask m.png 900 700 spots:1.5,3 line:0,40,899,650,7 rect:500,100,230,200
same() {   # NAME ARGS...: default and streamed outputs equal
	n=$1; shift
	expect_exit 0 "$TP" inpaint a.png m.png "r-$n.png" "$@"
	TILEPAINT_TEST_RUNS_BUDGET=0 expect_exit 0 "$TP" inpaint a.png m.png "s-$n.png" "$@"
	cmp "r-$n.png" "s-$n.png" || fail "$n: runs and streamed mask give different outputs"
	"$TOOL" unmasked a.png "r-$n.png" m.png >/dev/null 2>&1 || [ "$n" != plain ] ||
		fail "$n: unmasked pixels changed"
}
same plain --engine telea
same dilate --engine telea --dilate 4
same guide --engine harmonic --tile 128
same replan --engine telea -j 2 --mem-limit 150M
same stored --engine telea --tile 96 -j 2

note "the mask file is read once fewer"
opens() { grep -c "openat(.*m\.png\"" "$1"; }
# (LeakSanitizer cannot run under ptrace: off for these two under SAN=1)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -e trace=openat -o runs.trace "$TP" inpaint a.png m.png o1.png --engine telea -q
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" TILEPAINT_TEST_RUNS_BUDGET=0 \
	strace -f -qq -e trace=openat -o stream.trace "$TP" inpaint a.png m.png o2.png --engine telea -q
cmp o1.png o2.png || fail "traced outputs differ"
eq "$(opens runs.trace)" "$(($(opens stream.trace) - 1))" "mask opens with runs (streamed: $(opens stream.trace))"

note "a batch run resumed after a kill, with runs, is the one-shot output"
mkdir in
cp a.png in/a.png
cp m.png in/a_mask.png
expect_exit 0 "$TP" run in -o ref -q --engine telea --tile 96
TILEPAINT_TEST_RUNS_BUDGET=0 expect_exit 0 "$TP" run in -o ref2 -q --engine telea --tile 96
cmp ref/a.png ref2/a.png || fail "batch outputs differ between runs and streamed mask"
