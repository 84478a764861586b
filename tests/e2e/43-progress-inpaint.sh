# `inpaint` on a terminal shows the bar too (no store, one image: tiles and
# rows, no image count), fitted to a 50-column window, gone at the end;
# with stdout the image ('-') and stderr the terminal the bytes are those of
# a run without a terminal; a UTF-8 name is cut between characters; not a
# terminal: nothing at all on stderr.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" python3
PTY="python3 $TP_TOP/tests/tools/ptyrun.py"
"$TOOL" gen photo.png 500 1500 3 8 4
"$TOOL" mask mask.png 500 1500 rect:100,200,40,900 rect:300,1000,120,60
OPTS="--engine telea --tile 128 -j 2"

expect_exit 0 "$TP" inpaint photo.png mask.png plain.png $OPTS
[ ! -s "$T/.stderr" ] || { cat "$T/.stderr"; fail "inpaint printed on a non-terminal stderr"; }

export TILEPAINT_TEST_REDRAW_MS=0
$PTY run 50 tty.out -- "$TP" inpaint photo.png mask.png tty.png $OPTS || fail "inpaint under a terminal failed"
$PTY segments tty.out >seg
$PTY screen 50 tty.out >screen
w=$($PTY widest tty.out)
[ "$w" -le 49 ] || fail "a bar $w columns wide in a 50-column window"
! grep -q '<<WRAP>>' screen || fail "the output wrapped"
! grep -q ' img ' seg || fail "inpaint shows an image count"
grep -q '^tiles [0-9]*/[0-9]*  .*mask [1-9][0-9]*/1500' seg || { cat seg; fail "no mask rows"; }
grep -q '^tiles [1-9][0-9]*/[0-9]*  .*rows [1-9][0-9]*/1500' seg || { cat seg; fail "no band rows"; }
n=$(sed -n 's|^tiles \([0-9]*\)/\([0-9]*\) .*|\1 \2|p' seg | awk '$1 == $2 && $1 > 0' | wc -l)
[ "$n" -ge 1 ] || { cat seg; fail "never all tiles done"; }
grep -q 'photo\.png$' seg || fail "the image is not named"
! grep -q . screen || { cat screen; fail "the bar is left on the screen"; }
cmp plain.png tty.png || fail "output differs under a terminal"

# '-' for stdout: the image goes to the file, the bar to the terminal alone
$PTY run 50 dash.out -- "$TP inpaint - mask.png - $OPTS <photo.png >dash.png" || fail "inpaint - - failed"
$PTY segments dash.out | grep -q '^tiles .*(stdin)$' || { $PTY segments dash.out; fail "no bar for stdin"; }
cmp plain.png dash.png || fail "stdout output differs"

# a long UTF-8 name is cut between characters, and still fits
u=$(printf 'r\303\251sum\303\251-\303\251t\303\251-\303\251cole-\303\251l\303\251ve-\303\251tude-\303\251crit.png')
cp photo.png "$u"
$PTY run 40 u.out -- "$TP" inpaint "$u" mask.png u-out.png $OPTS || fail "inpaint of $u failed"
w=$($PTY widest u.out)
[ "$w" -le 39 ] || fail "a bar $w characters wide in a 40-column window"
$PTY segments u.out | grep -q '\.\.\..*crit\.png$' || { $PTY segments u.out; fail "the name is not cut"; }
! $PTY segments u.out | grep -q "$(printf '\357\277\275')" || fail "a character cut in two"
cmp plain.png u-out.png || fail "output differs"
