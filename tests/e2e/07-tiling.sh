# A mask component inside exactly one tile, away from the overlap by more
# than the engine's radius, is filled exactly as in the untiled image.
. "$(dirname "$0")/common.sh"
"$TOOL" gen img.png 512 384 3 8 9
# tiles of 128 with overlap 32: stride 96; tile (col 1, row 1) is x,y in [96, 224);
# its part outside every overlap is [128, 192); the hole sits in [145, 175)
"$TOOL" mask m.png 512 384 disk:160,160,12 rect:400,40,30,20
expect_exit 0 "$TP" inpaint img.png m.png tiled.png --engine telea --radius 5 --tile 128 --overlap 32
expect_exit 0 "$TP" inpaint img.png m.png whole.png --engine telea --radius 5 --tile 512
"$TOOL" region tiled.png whole.png 140 140 40 40 || fail "tiled fill differs from the untiled fill"
"$TOOL" unmasked img.png tiled.png m.png || fail "unmasked pixels changed"
