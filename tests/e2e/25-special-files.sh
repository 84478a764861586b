# Special files and odd paths: FIFOs, sockets, devices and directories named
# like images are refused at once (one line each, exit 65, the rest done);
# missing and looping explicit inputs fail alone; under -r directory loops end
# and an image reached by several paths is done once, by its real path.
. "$(dirname "$0")/common.sh"
OPTS="--engine telea --tile 64 --overlap 16 -q"
# every run here must end quickly: a blocking open() would hang it
TO="timeout -k 5 60"

note "special files in a directory"
mkdir in
"$TOOL" gen in/a.png 96 64 3 8 1
"$TOOL" mask in/a_mask.png 96 64 disk:40,30,8
for n in b c d e f; do cp in/a_mask.png in/${n}_mask.png; done
mkfifo in/b.png
"$TOOL" mksock in/c.png
ln -s /dev/zero in/d.png
mkdir in/e.png
ln -s /dev/null in/f.png
expect_exit 65 $TO "$TP" run in -o out $OPTS
grep_err "in/b.png: not a regular file (a FIFO)"
grep_err "in/c.png: not a regular file (a socket)"
grep_err "in/d.png: not a regular file (a character device)"
grep_err "in/e.png: not a regular file (a directory)"
grep_err "in/f.png: not a regular file (a character device)"
eq "$(wc -l <"$T/.stderr")" 5 "one line per refused file"
"$TOOL" unmasked in/a.png out/a.png in/a_mask.png || fail "the regular image was not done"
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 3")" 5 "failed jobs"
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 2")" 1 "done jobs"
eq "$(sql out/.tilepaint.db "select error from jobs where input='in/b.png'")" \
	"in/b.png: not a regular file (a FIFO)" "stored reason"
eq "$(ls out)" "a.png" "nothing written for the refused files"
no_temps out

note "special files given by name, as inputs and as masks"
expect_exit 65 $TO "$TP" run in/b.png in/a.png -o out2 $OPTS
grep_err "in/b.png: not a regular file (a FIFO)"
[ -e out2/a.png ] || fail "the image after the FIFO was not done"
expect_exit 65 $TO "$TP" run in/a.png --mask in/b.png -o out3 $OPTS
grep_err "in/b.png: not a regular file (a FIFO)"
expect_exit 65 $TO "$TP" run in/a.png --mask in/c.png -o out4 $OPTS
grep_err "in/c.png: not a regular file (a socket)"
expect_exit 65 $TO "$TP" inpaint in/b.png in/a_mask.png x.png --engine telea
grep_err "in/b.png: not a regular file (a FIFO)"
[ ! -e x.png ] || fail "inpaint wrote an output for a FIFO"

note "a missing input and a symlink loop fail alone"
ln -s loop1.png in/loop2.png
ln -s loop2.png in/loop1.png
expect_exit 66 $TO "$TP" run in/loop1.png in/nope.png in/a.png --mask in/a_mask.png -o out5 $OPTS
grep_err "in/loop1.png: Too many levels of symbolic links"
grep_err "in/nope.png: no such file"
[ -e out5/a.png ] || fail "the batch stopped at a bad argument"
eq "$(sql out5/.tilepaint.db "select count(*) from jobs where state = 3")" 2 "failed jobs"
# a looping link found in a walk is that image's failure too
mkdir lw && cp in/a.png in/a_mask.png lw/ && cp lw/a_mask.png lw/loop1_mask.png
ln -s loop1.png lw/loop2.png && ln -s loop2.png lw/loop1.png
expect_exit 65 $TO "$TP" run lw -o out6 $OPTS
grep_err "lw/loop1.png: cannot open: Too many levels of symbolic links"
[ -e out6/a.png ] || fail "the walk stopped at a looping link"

note "directory loops and several paths to one image under -r"
mkdir -p r/sub
"$TOOL" gen r/a.png 96 64 3 8 2
"$TOOL" mask r/a_mask.png 96 64 disk:40,30,8
"$TOOL" gen r/sub/b.png 96 64 3 8 3
cp r/a_mask.png r/sub/b_mask.png
ln -s .. r/sub/up              # a loop
ln -s sub r/0alias             # a second path to sub/, sorting before it
ln -s ../a.png r/sub/0a.png    # a second path to a.png (its own mask name: its own job)
ln -s "$T/r" r/sub/abs         # a loop by absolute path
expect_exit 0 $TO "$TP" run -r r -o rout --mask r/a_mask.png $OPTS
eq "$(cd rout && find . -name '*.png' | sort | tr '\n' ' ')" "./a.png ./sub/b.png " \
	"with one mask, each image once, by its real path"
eq "$(sql rout/.tilepaint.db "select count(*) from jobs")" 2 "jobs"
# with masks beside the images, a link with a mask of its own is a job of its own
cp r/a_mask.png r/sub/0a_mask.png
expect_exit 0 $TO "$TP" run -r r -o rout2 $OPTS
eq "$(cd rout2 && find . -name '*.png' | sort | tr '\n' ' ')" "./a.png ./sub/0a.png ./sub/b.png " \
	"masks beside: real paths, and the link with its own mask"
eq "$(sql rout2/.tilepaint.db "select count(*) from jobs")" 3 "jobs"
# the same file named twice on the command line, and a hard link with the same mask
ln r/a.png r/hard.png
expect_exit 0 $TO "$TP" run r/a.png ./r/a.png r/hard.png --mask r/a_mask.png -o out7 $OPTS
eq "$(ls out7)" "a.png" "one job for one image and mask"

note "an unlistable subdirectory is reported and the walk goes on"
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p nr/locked && cp in/a.png in/a_mask.png nr/ && chmod 000 nr/locked
	expect_exit 65 $TO "$TP" run -r nr -o out8 $OPTS
	grep_err "nr/locked: cannot list: Permission denied"
	[ -e out8/a.png ] || fail "the walk stopped at an unlistable directory"
	chmod 755 nr/locked
else
	note "(skipped: root can list any directory)"
fi
