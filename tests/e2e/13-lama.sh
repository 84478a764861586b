# LaMa through the real binary, on the committed reference cases (a reduced
# model with random weights under the official names; scripts/lama-reference.py
# made them with PyTorch): for an image no larger than a tile, `tilepaint
# inpaint --engine lama` writes the official script's 8-bit pixels (at most
# one level off on under 0.1% of the samples), with the same bytes at -j 1
# and -j 2, from the .safetensors and the .ckpt alike. A bad model exits 78
# with nothing processed.
# The reference masks hold 1 and 128 as well as 255 and the official script
# takes any nonzero value as a hole: --mask-threshold 0 is that rule.
. "$(dirname "$0")/common.sh"
D="$TP_TOP/tests/data/lama"
while read -r name w h; do
	"$TOOL" fromraw "$D/$name.img.rgb" "$w" "$h" 3 $name.png
	"$TOOL" fromraw "$D/$name.mask.u8" "$w" "$h" 1 ${name}_mask.png
	"$TOOL" fromraw "$D/$name.out.rgb" "$w" "$h" 3 $name.ref.png
	expect_exit 0 "$TP" inpaint $name.png ${name}_mask.png $name.out1.png --mask-threshold 0 --model "$D/tiny.safetensors" -j 1
	expect_exit 0 "$TP" inpaint $name.png ${name}_mask.png $name.out2.png --mask-threshold 0 --model "$D/tiny.safetensors" -j 2
	expect_exit 0 "$TP" inpaint $name.png ${name}_mask.png $name.outc.png --mask-threshold 0 --model "$D/tiny.ckpt" -j 2
	cmp $name.out1.png $name.out2.png || fail "$name: -j 1 and -j 2 differ"
	cmp $name.out1.png $name.outc.png || fail "$name: .ckpt and .safetensors differ"
	"$TOOL" near $name.out1.png $name.ref.png 1 0.001 || fail "$name: not the reference pixels"
	"$TOOL" unmasked $name.png $name.out1.png ${name}_mask.png >/dev/null || fail "$name: unmasked pixels changed"
done < "$D/cases.txt"

# a batch with lama, tiled (tile 32 on 64 x 64 gives 9 tiles), resumable like any engine
mkdir in
cp case0.png case0_mask.png case1.png case1_mask.png in/
expect_exit 0 "$TP" run in -o out --model "$D/tiny.safetensors" --tile 32 --overlap 8 -q
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 2")" 2 "lama jobs done"
eq "$(sql out/.tilepaint.db "select count(*) from timings where stage = 'model_load'")" 1 "model loaded once"

# bad models: one clear error, exit 78, no job touched
head -c 100000 "$D/tiny.safetensors" > trunc.safetensors
expect_exit 78 "$TP" run in -o bad --model trunc.safetensors
grep_err "trunc.safetensors"
eq "$(sql bad/.tilepaint.db "select count(*) from jobs where state in (2, 3)")" 0 "jobs touched by a bad model"
expect_exit 78 "$TP" inpaint case0.png case0_mask.png x.png --model "$D/evil.ckpt"
grep_err "evil.ckpt"
[ ! -e x.png ] || fail "output written with a bad model"
expect_exit 78 "$TP" run in -o bad2 --model /nonexistent/model.safetensors
grep_err "/nonexistent/model.safetensors"
