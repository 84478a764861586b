# Without --model the default engine is patch (same bytes as --engine patch),
# a batch runs with it, and with --model the default is lama.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 300 220 3 8 1
"$TOOL" gen in/b.tif 260 200 3 16 2
"$TOOL" mask in/a_mask.png 300 220 rect:120,80,40,30 disk:40,40,9
"$TOOL" mask in/b_mask.png 260 200 line:0,100,259,110,6
expect_exit 0 "$TP" run in -o def -q
expect_exit 0 "$TP" run in -o pat --engine patch -q
cmp def/a.png pat/a.png || fail "default engine is not patch (png)"
cmp def/b.tif pat/b.tif || fail "default engine is not patch (tif)"
"$TOOL" unmasked in/a.png def/a.png in/a_mask.png || fail "patch: unmasked pixels changed"
"$TOOL" unmasked in/b.tif def/b.tif in/b_mask.png || fail "patch 16-bit: unmasked pixels changed"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png l.png --model "$TP_TOP/tests/data/lama/tiny.safetensors"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png l2.png --engine lama --model "$TP_TOP/tests/data/lama/tiny.safetensors"
cmp l.png l2.png || fail "--model does not default to lama"
