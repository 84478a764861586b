# make lint enforces the architecture: on a copy of the sources, each
# forbidden dependency, a library outside its part, a long top-layer
# function, a TP_TIMED body that returns, a tp_status function without
# TP_MUST_USE and a man page out of step with the exit-code table each fail
# scripts/lint.sh with a line naming the rule; the untouched copy passes.
. "$(dirname "$0")/common.sh"
BUILD=$(cd "$(dirname "$TP")" && pwd)
mkdir repo
(cd "$TP_TOP" && tar cf - src tiler store scripts man) | (cd repo && tar xf -)

expect_exit 0 repo/scripts/lint.sh "$BUILD"
grep_out "lint: ok"

# expect_lint FILE LINE PATTERN: FILE with LINE appended fails lint with
# PATTERN in the message; FILE is restored after
expect_lint() {
	cp "repo/$1" saved
	echo "$2" >>"repo/$1"
	expect_exit 1 repo/scripts/lint.sh "$BUILD"
	grep_err "$3"
	cp saved "repo/$1"
}

note "forbidden dependencies between parts"
expect_lint tiler/band.c '#include "../src/io/raster.h"' "tiler must not depend on io"
expect_lint tiler/plan.c '#include "../store/store.h"' "tiler must not depend on store"
expect_lint tiler/mask.c '#include "../src/engines/engine.h"' "tiler must not depend on engines"
expect_lint tiler/coarse.c '#include "../src/nn/nn.h"' "tiler must not depend on nn"
expect_lint store/store.c '#include "../tiler/tiler.h"' "store must not depend on tiler"
expect_lint store/store.c '#include "../src/io/raster.h"' "store must not depend on io"
expect_lint store/store_int.h '#include "../src/engines/engine.h"' "store must not depend on engines"
expect_lint store/store.c '#include "../src/nn/weights.h"' "store must not depend on nn"
expect_lint src/engines/telea.c '#include "../io/raster.h"' "engines must not depend on io"
expect_lint src/engines/patch.c '#include "../../store/store.h"' "engines must not depend on store"
expect_lint src/io/png.c '#include "../../store/store.h"' "io must not depend on store"
expect_lint src/io/tiff.c '#include "../engines/engine.h"' "io must not depend on engines"
expect_lint src/nn/conv.c '#include "../../store/store.h"' "nn must not depend on store"
expect_lint src/nn/fft.c '#include "../io/raster.h"' "nn must not depend on io"
expect_lint src/engines/engine.h '#include "../job.h"' "engines must not depend on top"
expect_lint src/util/log.c '#include "../io/raster.h"' "util must not depend on io"
grep_err "src/util/log.c:[0-9]* includes src/io/raster.h"

note "libraries stay in their part"
expect_lint src/blob.c '#include <sqlite3.h>' "src/blob.c includes <sqlite3.h>: only store/ may use that library"
expect_lint tiler/band.c '#include <tiffio.h>' "only src/io/ may use that library"

note "short top-layer functions"
{ echo "int lint_long(void);"; echo "int lint_long(void)"; echo "{"; echo "	int x = 0;"
  i=0; while [ $i -lt 78 ]; do echo "	x++;"; i=$((i + 1)); done
  echo "	return x;"; echo "}"; } >long.c
cp repo/src/exit.c saved
cat long.c >>repo/src/exit.c
expect_exit 1 repo/scripts/lint.sh "$BUILD"
grep_err "src/exit.c:[0-9]*: int lint_long(void) is [0-9]* lines (at most 80)"
cp saved repo/src/exit.c

note "TP_TIMED bodies, TP_MUST_USE"
cp repo/src/exit.c saved
printf 'int lint_timed(struct tp_timings *t);\nint lint_timed(struct tp_timings *t)\n{\n\tTP_TIMED(t, TP_STAGE_DECODE)\n\t\treturn 1;\n\treturn 0;\n}\n' >>repo/src/exit.c
expect_exit 1 repo/scripts/lint.sh "$BUILD"
grep_err "src/exit.c:[0-9]*: a TP_TIMED body must not return, break or goto"
cp saved repo/src/exit.c
expect_lint src/timing.h 'tp_status lint_unchecked(int x);' "not TP_MUST_USE: src/timing.h:[0-9]*: tp_status lint_unchecked"
expect_lint src/io/io_int.h '	tp_status (*lint_op)(int x);' "not TP_MUST_USE: src/io/io_int.h:[0-9]*:"

note "the man page and the exit-code table"
cp repo/man/tilepaint.1 saved
awk '/^\.B 73$/ { skip = 3 } skip { skip--; next } { print }' saved >repo/man/tilepaint.1
expect_exit 1 repo/scripts/lint.sh "$BUILD"
grep_err "man page EXIT STATUS lists codes '0 64 65 66 70 74 75 78 ', the program's table '0 64 65 66 70 73 74 75 78 '"
sed 's/^65, 66, 75, 73, 74, 78, 70/65, 66, 73, 75, 74, 78, 70/' saved >repo/man/tilepaint.1
expect_exit 1 repo/scripts/lint.sh "$BUILD"
grep_err "man page EXIT STATUS gives the order '65, 66, 73, 75, 74, 78, 70', the program's table '65, 66, 75, 73, 74, 78, 70'"
cp saved repo/man/tilepaint.1
expect_exit 0 repo/scripts/lint.sh "$BUILD"

note "arrows one way inside a part (scripts/lint-arrows.sh on the objects)"
mkdir -p arrows/part arrows/build/part
printf 'int b(void);\nint a(void) { return b(); }\n' >arrows/part/a.c
printf 'int a(void);\nint c(void);\nint b(void) { return c(); }\nint c(void) { return 1; }\nint d(void) { return a(); }\n' >arrows/part/b.c
printf 'int c2(void) { return 2; }\n' >arrows/part/c.c
for f in a b c; do cc -c -o arrows/build/part/$f.o arrows/part/$f.c; done
(cd arrows && expect_exit 1 "$TP_TOP/scripts/lint-arrows.sh" build part)
grep_err "lint: part: a.c and b.c use each other (a.c calls b, b.c calls a)"
printf 'int c(void);\nint b(void) { return c(); }\nint c(void) { return 1; }\n' >arrows/part/b.c
cc -c -o arrows/build/part/b.o arrows/part/b.c
(cd arrows && expect_exit 0 "$TP_TOP/scripts/lint-arrows.sh" build part)
grep_out "lint: arrows ok"
