# Errors found before any work: unknown --engine-opt keys and bad values
# (every engine, --dry-run and inpaint too) exit 64 naming the key; a
# missing --masks directory or --mask file exits 66 with one line; an
# OUTPUT extension tilepaint cannot write exits 64 and writes nothing; and
# `inpaint` reads '-' from stdin and writes '-' to stdout (the input's
# format; nothing on stdout when it fails, never a log line).
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 120 90 3 8 1
"$TOOL" mask in/a_mask.png 120 90 disk:60,45,12
"$TOOL" gen in/b.png 120 90 3 8 2
"$TOOL" mask in/b_mask.png 120 90 disk:30,30,10

note "engine options are checked for every engine, before any work"
check_opt() {   # check_opt ENGINE OPTS MESSAGE
	for cmd in "run --dry-run in -o out" "run in -o out" "inpaint in/a.png in/a_mask.png o.png"; do
		# shellcheck disable=SC2086
		expect_exit 64 "$TP" $cmd --engine "$1" --engine-opt "$2"
		grep_err "tilepaint: error: --engine-opt: $3"
		eq "$(grep -c error "$T/.stderr")" 1 "error lines for $1 $2"
		[ ! -e out ] && [ ! -e o.png ] || fail "$1 $2: something was written"
	done
}
check_opt telea foo=1 "engine 'telea' has no parameter 'foo' (its parameters: guide, guideside)"
check_opt telea guideside=10 "engine parameter 'guideside' must be a number from 64 to 2048, not '10'"
check_opt patch patch=4 "engine parameter 'patch' must be an odd whole number from 3 to 15, not '4'"
check_opt patch "guide=0,emc=x" "engine parameter 'emc' must be a number from 1 to 50, not 'x'"
check_opt patch "em=3,radius=2" "engine 'patch' has no parameter 'radius' (its parameters: patch, em, emc, minside, thick, init, sigma, sharp, pull, guide, guideside)"
check_opt harmonic order=3 "engine parameter 'order' must be a number from 1 to 2, not '3'"
check_opt harmonic direct=0.5 "engine parameter 'direct' must be a whole number from 0 to 1, not '0.5'"
check_opt harmonic guide "'guide' is not KEY=VALUE"
check_opt harmonic trunc8=1 "engine 'harmonic' has no parameter 'trunc8'"
# lama: checked before the model is read (the model file need not be valid)
echo "not a model" >bad.safetensors
expect_exit 64 "$TP" run --dry-run in -o out --model bad.safetensors --engine-opt guide=0
grep_err "tilepaint: error: --engine-opt: engine 'lama' has no parameter 'guide' (its parameters: trunc8, ckpt_lenient)"
expect_exit 64 "$TP" inpaint --model bad.safetensors --engine-opt trunc8=2 in/a.png in/a_mask.png o.png
grep_err "engine parameter 'trunc8' must be a number from 0 to 1, not '2'"
note "good options still work"
expect_exit 0 "$TP" run -q --dry-run in -o out --engine harmonic --engine-opt order=1,direct=0,guide=0,guideside=128
expect_exit 0 "$TP" inpaint -q in/a.png in/a_mask.png o.png --engine patch --engine-opt patch=5,em=3
rm -f o.png

note "a missing --masks directory or --mask file: one line, 66"
for dry in "" --dry-run; do
	expect_exit 66 "$TP" run $dry --engine telea in --masks nowhere -o out
	eq "$(cat "$T/.stderr")" "tilepaint: error: nowhere: no such directory (--masks)" "--masks"
	expect_exit 66 "$TP" run $dry --engine telea in --mask nothere.png -o out
	eq "$(cat "$T/.stderr")" "tilepaint: error: nothere.png: no such file (--mask)" "--mask"
	expect_exit 66 "$TP" run $dry --engine telea in --masks in/a.png -o out
	eq "$(cat "$T/.stderr")" "tilepaint: error: in/a.png: not a directory (--masks)" "--masks file"
	expect_exit 66 "$TP" run $dry --engine telea in --mask in -o out
	grep_err "tilepaint: error: in: is a directory, not a mask file"
	[ ! -e out ] || fail "a missing mask source created the output directory"
done

note "an output extension tilepaint cannot write: 64, nothing written"
for x in webp bmp gif PNM; do
	expect_exit 64 "$TP" inpaint --engine telea in/a.png in/a_mask.png o.$x
	grep_err "tilepaint: error: o.$x: cannot write '$x' files: OUTPUT must end in .png, .jpg, .jpeg, .tif or .tiff (or be '-' for stdout)"
	[ ! -e o.$x ] || fail "o.$x written"
done
expect_exit 64 "$TP" inpaint --engine telea in/a.png in/a_mask.png noext
grep_err "noext: cannot write a file without an extension"
[ "$(ls | grep -v '^in$' | grep -v bad.safetensors || true)" = "" ] || fail "files left: $(ls)"

note "inpaint: '-' is stdin and stdout"
"$TP" inpaint -q --engine telea in/a.png in/a_mask.png ref.png
"$TP" inpaint --engine telea - in/a_mask.png - <in/a.png >piped.png 2>err.txt
"$TOOL" cmp ref.png piped.png >/dev/null || fail "stdin to stdout differs from files"
eq "$(cat err.txt)" "" "stderr of a piped run"
"$TP" inpaint -q --engine telea in/a.png - via_mask.png <in/a_mask.png
cmp ref.png via_mask.png || fail "a mask from stdin differs"
"$TP" inpaint -v --engine telea in/a.png in/a_mask.png - >verbose.png 2>/dev/null
cmp ref.png verbose.png || fail "-v put something on stdout"
# the output format follows the input's content: a JPEG in, a JPEG out
cp "$TP_TOP/examples/wood.jpg" w.jpg
"$TP" inpaint -q --engine telea w.jpg "$TP_TOP/examples/wood_mask.png" - | cat >w_out
eq "$("$TOOL" info w_out | awk '{print $5}')" "$("$TOOL" info w.jpg | awk '{print $5}')" "stdout format"
"$TP" inpaint -q --engine telea w.jpg "$TP_TOP/examples/wood_mask.png" w_ref.jpg
cmp w_out w_ref.jpg || fail "JPEG to stdout differs from JPEG to a file"
note "a failure: one error line naming stdin, nothing on stdout, no temporary left"
echo "not an image" >junk
expect_exit 65 "$TP" inpaint --engine telea - in/a_mask.png - <junk
eq "$(cat "$T/.stderr")" "tilepaint: error: stdin: not a PNG, JPEG or TIFF file" "error for junk on stdin"
eq "$(wc -c <"$T/.stdout")" 0 "bytes on stdout after a failure"
mkdir tmp
"$TOOL" mask small_mask.png 80 60 disk:30,30,10
TMPDIR=$T/tmp expect_exit 65 "$TP" inpaint --engine telea in/b.png - - <small_mask.png
eq "$(wc -c <"$T/.stdout")" 0 "bytes on stdout after a failure"
eq "$(ls -A tmp)" "" "temporaries left"
grep_err "tilepaint: error: in/b.png: the mask stdin is 80x60 but the image is 120x90"
expect_exit 64 "$TP" inpaint --engine telea - - o.png <in/a.png
grep_err "IMAGE and MASK cannot both be '-' (stdin)"
echo "32-clear-errors: ok"
