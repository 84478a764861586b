# Outputs never replace inputs or masks: every plan in which an output path
# is, or links to, an input or a mask is refused before any work (exit 64,
# one line naming both paths), and the files stay as they were.
. "$(dirname "$0")/common.sh"
mkdir dir
"$TOOL" gen dir/x.png 200 150 3 8 1
"$TOOL" mask dir/x_mask.png 200 150 disk:100,75,20
"$TOOL" gen dir/y.png 200 150 3 8 2
"$TOOL" mask dir/y_mask.png 200 150 disk:50,50,10
cp -r dir keep
OPTS="--engine telea -q"

note "a file whose output is itself"
expect_exit 64 "$TP" run dir/x.png --mask dir/x_mask.png -o dir $OPTS
grep_err "refusing to write dir/x.png: it is the input dir/x.png"
eq "$(grep -c . "$T/.stderr")" 1 "one error line"
[ ! -e dir/.tilepaint.db ] || fail "a store was made before the refusal"

note "a directory into itself"
expect_exit 64 "$TP" run dir -o dir $OPTS
grep_err "refusing to write into dir: it is the input directory dir"
expect_exit 64 "$TP" run dir -o ./dir/. $OPTS
grep_err "it is the input directory dir"

note "an output that is a symlink to an input"
mkdir out1
ln -s ../dir/x.png out1/x.png
expect_exit 64 "$TP" run dir -o out1 $OPTS
grep_err "refusing to write out1/x.png: it is the input dir/x.png"

note "an output that is a hard link to a mask"
mkdir -p in2 out2
cp dir/y.png in2/y.png
ln dir/x_mask.png out2/y.png
expect_exit 64 "$TP" run in2 --mask dir/x_mask.png -o out2 $OPTS
grep_err "refusing to write out2/y.png: it is the input dir/x_mask.png"

note "inpaint onto its own image or mask"
expect_exit 64 "$TP" inpaint --engine telea dir/x.png dir/x_mask.png dir/x.png
grep_err "refusing to write dir/x.png: it is the input dir/x.png"
ln -s x_mask.png dir/link.png
expect_exit 64 "$TP" inpaint --engine telea dir/x.png dir/x_mask.png dir/link.png
grep_err "it is the input dir/x_mask.png"
rm dir/link.png

for f in x.png x_mask.png y.png y_mask.png; do
	cmp "dir/$f" "keep/$f" || fail "dir/$f was changed"
done

note "-o inside the input tree under -r: the output tree is not an input"
expect_exit 0 "$TP" run -r dir -o dir/clean $OPTS
[ -f dir/clean/x.png ] && [ -f dir/clean/y.png ] || fail "outputs missing"
[ ! -e dir/clean/clean ] || fail "the output tree was taken as input"
eq "$(sql dir/clean/.tilepaint.db "select count(*) from jobs")" 2 "jobs"
expect_exit 0 "$TP" run -r dir -o dir/clean $OPTS
eq "$(sql dir/clean/.tilepaint.db "select count(*) from jobs")" 2 "jobs after a re-run"
for f in x.png x_mask.png y.png y_mask.png; do
	cmp "dir/$f" "keep/$f" || fail "dir/$f was changed"
done
