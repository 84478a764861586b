# A hole much larger than a tile: tiles fully inside it get the coarse
# whole-image guide's fill (structure, not the flat grey they had alone);
# unmasked pixels stay the input's; -j 1 and -j 2 and a stopped-and-resumed
# run give the same bytes; --engine-opt guide=0 gives the old flat fill.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 1600 1200 3 8 5
"$TOOL" mask in/a_mask.png 1600 1200 rect:450,300,700,600
OPTS="--engine patch --tile 256"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png g1.png $OPTS -j 1 -v
grep_err "guide 800x600 (1/2 scale)"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png g2.png $OPTS -j 2
cmp g1.png g2.png || fail "-j 1 and -j 2 differ with the guide"
"$TOOL" unmasked in/a.png g1.png in/a_mask.png || fail "unmasked pixels changed"

# tiles (stride 192) wholly inside the hole cover [576, 1024) x [384, 832);
# the input's own spread there is about 0.18 per channel
sd_min() { "$TOOL" stats "$1" 640 448 320 320 | awk '{ m = $6; for (i = 7; i <= 8; i++) if ($i < m) m = $i; print m }'; }
sd_max() { "$TOOL" stats "$1" 640 448 320 320 | awk '{ m = $6; for (i = 7; i <= 8; i++) if ($i > m) m = $i; print m }'; }
s=$(sd_min g1.png)
awk "BEGIN { exit !($s > 0.05) }" || fail "guided fill inside the hole is flat (sd $s)"

expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png off.png $OPTS -j 2 --engine-opt guide=0 -v
grep -q "guide " "$T/.stderr" && fail "guide=0 still built a guide"
s=$(sd_max off.png)
awk "BEGIN { exit !($s < 0.005) }" || fail "guide=0 is not the old flat fallback (sd $s)"
cmp -s g1.png off.png && fail "guide=0 changed nothing"

# stopped after the first tiles, then resumed: the guide is rebuilt the same
expect_exit 75 "$TP" run in -o out $OPTS -j 2 --max-time 0.1s
[ ! -e out/a.png ] || fail "output written by a stopped run"
expect_exit 0 "$TP" run in -o out $OPTS -j 2
cmp out/a.png g1.png || fail "stopped and resumed output differs"

# harmonic uses the guide as Dirichlet data along the edge of each tile in a
# big hole: its tiled fill is close to the exact fill of the whole hole at
# once (one tile), where guide=0 leaves tiles with nothing known grey and
# the others disagreeing.
mkdir in2
"$TOOL" gen in2/b.png 480 360 3 8 5
"$TOOL" mask in2/b_mask.png 480 360 rect:135,90,210,180
H="--engine harmonic --tile 96"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png h1.png $H -j 1 -v
grep_err "guide 240x180 (1/2 scale)"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png h2.png $H -j 2
cmp h1.png h2.png || fail "harmonic: -j 1 and -j 2 differ with the guide"
"$TOOL" unmasked in2/b.png h1.png in2/b_mask.png || fail "harmonic: unmasked pixels changed"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png whole.png --engine harmonic --tile 512
"$TOOL" near h1.png whole.png 8 0.05 || fail "harmonic: guided tiles stray from the whole-hole fill"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png h0.png $H --engine-opt guide=0
"$TOOL" near h0.png whole.png 8 0.05 && fail "harmonic: guide=0 is as good as the guide (test too weak)"

# telea: a tile with nothing known takes the guide instead of mid grey
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png t1.png --engine telea --tile 96 -v
grep_err "guide 240x180 (1/2 scale)"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png twhole.png --engine telea --tile 512
"$TOOL" near t1.png twhole.png 80 0.06 || fail "telea: guided tiles stray from the whole-hole fill"
expect_exit 0 "$TP" inpaint in2/b.png in2/b_mask.png t0.png --engine telea --tile 96 --engine-opt guide=0
"$TOOL" near t0.png twhole.png 80 0.06 && fail "telea: guide=0 is as close as the guide (test too weak)"
true
