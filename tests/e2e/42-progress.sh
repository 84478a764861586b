# The batch line on a terminal: run under a pseudo-terminal 60 columns wide
# (tests/tools/ptyrun.py), no bar (a piece of the output between \r and \n
# that is not a log line) is wider than the window, no bar wraps, the final state shows every image reached,
# the bar moves during the mask, guide and band passes (rows, not only
# tiles), is on screen while the process is frozen in the guide pass, follows
# a window made narrower mid-run, and every log line starts at column 0 with
# no piece of a bar in it. Not a terminal: no \r at all, and exactly one
# summary line (images, tiles, MP/s, wall time); -q and --no-progress: no bar.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" python3
PTY="python3 $TP_TOP/tests/tools/ptyrun.py"
mkdir in
"$TOOL" gen in/a-long-name-for-the-first-picture-of-the-batch.png 600 2000 3 8 1
"$TOOL" mask in/a-long-name-for-the-first-picture-of-the-batch_mask.png 600 2000 rect:200,300,300,500
"$TOOL" gen in/b.png 320 240 3 8 2
"$TOOL" mask in/b_mask.png 320 240 rect:0,0,320,240   # the whole image: a warning
"$TOOL" gen in/c.png 320 240 3 8 3
"$TOOL" mask in/c_mask.png 320 240 rect:10,10,20,20
OPTS="--engine patch --tile 256 -j 2"

# every update drawn (not ten a second), so what is seen does not depend on speed
export TILEPAINT_TEST_REDRAW_MS=0
$PTY run 60 tty.out -- "$TP" run in -o out $OPTS || fail "run under a terminal failed"
$PTY segments tty.out >seg
$PTY screen 60 tty.out >screen
# (log lines are whole lines, as long as their message)
w=$($PTY widest tty.out)
[ "$w" -le 59 ] || fail "a bar $w columns wide in a 60-column window"
! grep -q '<<WRAP>>' screen || fail "the output wrapped"
grep -q '^3/3 img  tiles [0-9]*/[0-9]*  ' seg || { cat seg; fail "no final state 3/3"; }
last=$(grep ' img  tiles ' seg | tail -n 1)
case $last in 3/3*) ;; *) fail "the last bar is not 3/3: $last" ;; esac
# two different redraws inside each pass of the first image (2000 rows)
for stage in mask guide rows; do
	n=$(grep -c "^1/3 img .*  $stage [1-9][0-9]*/2000" seg || true)
	[ "$n" -ge 2 ] || { cat seg; fail "no movement in the $stage pass ($n redraws)"; }
done
grep -q '  \.\.\.[a-z-]*-batch\.png$' seg || { cat seg; fail "the name is not cut from the left"; }
# log lines: at column 0, whole, alone on their line
grep -q '^tilepaint: warning: in/b.png: the mask in/b_mask.png covers the whole image' screen ||
	{ cat screen; fail "the warning does not start at column 0"; }
! grep 'tilepaint:.*img  tiles\|img  tiles.*tilepaint:' screen || fail "a log line mixed with a bar"
! grep -v '^tilepaint:' screen | grep -q . || { cat screen; fail "a bar left on the screen"; }
grep -q '^tilepaint: 3 images: 3 done now, 0 already done, 0 failed; tiles: .*; [0-9.]* MP in [0-9.]* s, [0-9.]* MP/s$' screen ||
	{ cat screen; fail "no summary line"; }
cp out/a-long-name-for-the-first-picture-of-the-batch.png tty.png

# frozen at the start of the guide pass, at the default rate: the bar is there
unset TILEPAINT_TEST_REDRAW_MS
rm -rf out
TILEPAINT_TEST_FREEZE=stage:guide $PTY run 60 frz.out 40 -- "$TP" run in -o out $OPTS ||
	fail "frozen run failed"
stop=$(cat frz.out.stops)
[ -n "$stop" ] || fail "the run never froze"
head -c "$stop" frz.out >before
$PTY segments before | tail -n 1 >at_stop
grep -q '^1/3 img  tiles 0/[~?0-9]*  .*guide 0/2000' at_stop || { cat at_stop; fail "no bar during the guide pass"; }
# resized to 40 columns while stopped: every bar after it fits 40
tail -c +"$((stop + 1))" frz.out >after
$PTY segments after >seg2
w=$($PTY widest after)
[ "$w" -le 39 ] || fail "a bar $w columns wide after the window went to 40"
grep -q '^3/3 img' seg2 || { cat seg2; fail "no final state after the resize"; }
cmp out/a-long-name-for-the-first-picture-of-the-batch.png tty.png || fail "output differs"

# not a terminal: no \r, one summary line and the warning, nothing else
rm -rf out
expect_exit 0 "$TP" run in -o out $OPTS
! grep -q "$(printf '\r')" "$T/.stderr" || fail "a \\r on a non-terminal stderr"
eq "$(grep -c . "$T/.stderr")" 2 "lines on a non-terminal stderr"
grep -q '^tilepaint: 3 images: 3 done now, .* MP in [0-9.]* s, [0-9.]* MP/s$' "$T/.stderr" ||
	{ cat "$T/.stderr"; fail "no summary line on a non-terminal"; }
cmp out/a-long-name-for-the-first-picture-of-the-batch.png tty.png || fail "output differs"
# an up-to-date run: just the summary
expect_exit 0 "$TP" run in -o out $OPTS
eq "$(cat "$T/.stderr" | wc -l)" 1 "lines of an up-to-date run"
grep_err "3 images: 0 done now, 3 already done, 0 failed"
# --progress forces the bar onto a file
rm -rf out
expect_exit 0 "$TP" run in -o out $OPTS --progress
grep -q "$(printf '\r')" "$T/.stderr" || fail "--progress drew nothing"

# -q and --no-progress: no bar on a terminal (-q: nothing at all but the warning)
rm -rf out
$PTY run 60 q.out -- "$TP" run in -o out $OPTS -q || fail "-q run failed"
! grep -q "$(printf '\r')\|img  tiles" q.out || fail "-q drew a bar"
rm -rf out
$PTY run 60 np.out -- "$TP" run in -o out $OPTS --no-progress || fail "--no-progress run failed"
! grep -q 'img  tiles' np.out || fail "--no-progress drew a bar"
grep -q 'tilepaint: 3 images' np.out || fail "--no-progress lost the summary"
