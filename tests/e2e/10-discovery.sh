# Discovery: -r with a parallel --masks tree and nested outputs, --mask,
# --mask-suffix, --shard splits disjointly, --dry-run writes nothing.
. "$(dirname "$0")/common.sh"
mkdir -p scans/a/b masks/a/b
"$TOOL" gen scans/top.png 200 150 3 8 1
"$TOOL" gen scans/a/mid.tif 200 150 1 16 2
"$TOOL" gen scans/a/b/deep.png 200 150 4 8 3
"$TOOL" mask masks/top.png 200 150 disk:50,50,8
"$TOOL" mask masks/a/mid_mask.png 200 150 disk:60,60,8
"$TOOL" mask masks/a/b/deep.tif 200 150 rect:10,10,20,20
OPTS="--engine telea --tile 64 --overlap 16"

expect_exit 0 "$TP" run scans --masks masks -o dry $OPTS --dry-run -r
grep_out "dry run: 3 images"
[ ! -e dry ] || fail "--dry-run created the output directory"

expect_exit 0 "$TP" run scans -o flat --masks masks $OPTS -q
[ -e flat/top.png ] && [ ! -e flat/a ] || fail "without -r only the top level is read"
expect_exit 0 "$TP" run -r scans --masks masks -o out $OPTS -q
for f in top.png a/mid.tif a/b/deep.png; do [ -e out/$f ] || fail "out/$f missing"; done
"$TOOL" unmasked scans/a/b/deep.png out/a/b/deep.png masks/a/b/deep.tif || fail "deep.png wrong"

# one mask for all
mkdir one suf
"$TOOL" gen one/x.png 200 150 3 8 4
"$TOOL" gen one/y.png 200 150 3 8 5
"$TOOL" mask shared.png 200 150 rect:100,100,10,10
expect_exit 0 "$TP" run one --mask shared.png -o o2 $OPTS -q
"$TOOL" unmasked one/y.png o2/y.png shared.png || fail "--mask"

# --mask-suffix beside the image
"$TOOL" gen suf/p.png 200 150 3 8 6
"$TOOL" mask suf/p.holes.png 200 150 disk:20,20,5
expect_exit 0 "$TP" run suf --mask-suffix .holes -o o3 $OPTS -q
[ -e o3/p.png ] && [ ! -e o3/p.holes.png ] || fail "--mask-suffix"

# shards are disjoint and cover everything
mkdir many
for i in 1 2 3 4 5 6 7 8 9; do
	"$TOOL" gen many/i$i.png 64 64 3 8 $i
	"$TOOL" mask many/i${i}_mask.png 64 64 disk:30,30,5
done
expect_exit 0 "$TP" run many -o s1 --shard 1/2 $OPTS -q
expect_exit 0 "$TP" run many -o s2 --shard 2/2 $OPTS -q
n1=$(ls s1 | wc -l); n2=$(ls s2 | wc -l)
eq "$((n1 + n2))" 9 "shards cover every image"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "a shard is empty ($n1, $n2)"
for f in $(ls s1); do [ ! -e s2/$f ] || fail "$f in both shards"; done
