#!/bin/sh
# lint.sh - the house's rules that the compiler does not check (make lint).
#
#   1. Parts depend one way (README, "How the code is organised"): each
#      #include "..." is resolved to the part it lands in, and must be one
#      the including part may use:
#        src/util     only itself
#        src/io       util                 (not store, engines, nn, tiler, top)
#        src/nn       util                 (not store, io, engines, tiler, top)
#        tiler        util                 (not io, store, engines, nn, top)
#        store        util                 (not tiler, io, engines, nn, top)
#        src/engines  nn, util             (not io, store, tiler, top)
#        src (top)    any part
#   2. Libraries stay in their part: sqlite3.h only in store/; tiffio.h,
#      png.h and jpeglib.h only in src/io; cblas.h only in src/nn.
#   3. No function of the top layer (src/*.c) is longer than 80 lines.
#   4. A TP_TIMED section's body does not leave by return, break or goto
#      (its time would never be recorded).
#   5. Every function declared in a header that returns tp_status is
#      TP_MUST_USE (but tp_err, which sets the message and returns its code),
#      and so is every tp_status function pointer in a struct of operations.
#   6. The man page formats without warnings and its EXIT STATUS section
#      lists exactly the codes of the program's table, in its order.
#   7. Within a part (the top layer too), the files use each other one way:
#      no cycle of calls (scripts/lint-arrows.sh on the built objects).
#
# Usage: scripts/lint.sh [BUILD_DIR]   (BUILD_DIR/tilepaint for rules 6, 7)
set -u
cd "$(dirname "$0")/.." || exit 2
build=${1:-build}
fail=0
say() { echo "lint: $*" >&2; fail=1; }

part_of() {
	case $1 in
	src/util/*) echo util ;;
	src/io/*) echo io ;;
	src/nn/*) echo nn ;;
	src/engines/*) echo engines ;;
	tiler/*) echo tiler ;;
	store/*) echo store ;;
	src/*) echo top ;;
	*) echo other ;;
	esac
}

may_use() {   # may_use FROM TO
	[ "$1" = "$2" ] && return 0
	case $1:$2 in
	*:util) [ "$1" != util ] ;;
	engines:nn) return 0 ;;
	top:*) return 0 ;;
	*) return 1 ;;
	esac
}

# 1. includes, resolved against the file's directory, then the repository root
for f in src/*.[ch] src/*/*.[ch] tiler/*.[ch] store/*.[ch]; do
	[ -f "$f" ] || continue
	from=$(part_of "$f")
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
	sed 's/^\([0-9]*\):.*"\(.*\)".*/\1 \2/' |
	while read -r line inc; do
		cand="$(dirname "$f")/$inc"
		[ -f "$cand" ] || cand=$inc
		target=$(realpath -m --relative-to=. "$cand")
		to=$(part_of "$target")
		if [ "$to" != other ] && ! may_use "$from" "$to"; then
			echo "lint: $f:$line includes $target: $from must not depend on $to (parts depend one way; see README, How the code is organised)" >&2
			echo x
		fi
	done
done | grep -q x && fail=1

# 2. libraries in their part
lib_rule() {   # lib_rule HEADER ALLOWED_DIR
	grep -ln "#include *<$1>" src/*.[ch] src/*/*.[ch] tiler/*.[ch] store/*.[ch] 2>/dev/null |
	grep -v "^$2/" | while read -r f; do
		echo "lint: $f includes <$1>: only $2/ may use that library" >&2
		echo x
	done | grep -q x && fail=1
}
lib_rule sqlite3.h store
lib_rule tiffio.h src/io
lib_rule png.h src/io
lib_rule jpeglib.h src/io
lib_rule cblas.h src/nn

# 3. function length in the top layer: from a line opening a definition at
# column 0 ('{' alone) to the '}' at column 0 that closes it
long=$(awk -v LIM=80 '
	/^[A-Za-z_].*\(/ { sig = $0; sigline = FNR }
	/^\{/ { start = sigline; name = sig; infn = 1 }
	/^\}/ && infn { n = FNR - start + 1; if (n > LIM) printf "%s:%d: %s is %d lines (at most %d)\n", FILENAME, start, name, n, LIM; infn = 0 }
' src/*.c)
if [ -n "$long" ]; then
	echo "$long" | sed 's/^/lint: /' >&2
	echo "lint: top-layer functions stay short: split them by what they do" >&2
	fail=1
fi

# 4. TP_TIMED bodies: the statement (or block) after the macro
timed=$(awk '
	function report(line) { printf "%s:%d: a TP_TIMED body must not return, break or goto\n", FILENAME, line }
	/TP_TIMED\(/ && !/#define/ { t = FNR; if ($0 ~ /\{[[:space:]]*$/) { depth = 1; blk = 1 } else { blk = 0; one = 1 }; next }
	blk { if ($0 ~ /(^|[^a-z_])(return|break|goto)([^a-z_]|$)/) report(FNR); o = gsub(/\{/, "{"); c = gsub(/\}/, "}"); depth += o - c; if (depth <= 0) blk = 0; next }
	one { if ($0 ~ /(^|[^a-z_])(return|break|goto)([^a-z_]|$)/) report(FNR); if ($0 ~ /;[[:space:]]*$/) one = 0 }
' src/*.c src/*/*.c tiler/*.c store/*.c)
if [ -n "$timed" ]; then
	echo "$timed" | sed 's/^/lint: /' >&2
	fail=1
fi

# 5. TP_MUST_USE on every tp_status function declared in a header
must=$(awk '
	/^[[:space:]]*(static inline )?tp_status[[:space:]]+[a-z_0-9]+\(/ && !/tp_err\(/ && prev !~ /TP_MUST_USE[[:space:]]*$/ { printf "%s:%d: %s\n", FILENAME, FNR, $0 }
	/^[[:space:]]*tp_status[[:space:]]*\(\*[a-z_0-9]+\)\([^)]*\);[[:space:]]*$/ { printf "%s:%d: %s\n", FILENAME, FNR, $0 }
	{ prev = $0 }
' src/*.h src/*/*.h tiler/*.h store/*.h)
if [ -n "$must" ]; then
	echo "$must" | sed 's/^/lint: not TP_MUST_USE: /' >&2
	fail=1
fi

# 6. the man page
if groff -man -ww -z man/tilepaint.1 2>&1 | grep . >&2; then
	say "man page warnings (groff -man -ww)"
fi
if [ -x "$build/tilepaint" ]; then
	table=$("$build/tilepaint" --exit-codes | awk '/^  *[0-9]+  /{ print $1 }' | tr '\n' ' ')
	man=$(awk '/^\.SH EXIT STATUS/{ on = 1; next } /^\.SH/{ on = 0 } on && /^\.B [0-9]+$/{ print $2 }' man/tilepaint.1 | sort -n | tr '\n' ' ')
	sorted=$(echo "$table" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	[ "$man" = "$sorted" ] || say "man page EXIT STATUS lists codes '$man', the program's table '$sorted'"
	order=$(echo "$table" | tr ' ' '\n' | grep -v '^0$' | grep -v '^64$' | grep . | paste -sd, | sed 's/,/, /g')
	said=$(awk '/from least to most:$/{ getline; print; exit }' man/tilepaint.1 | grep -o '^[0-9, ]*[0-9]')
	[ "$said" = "$order" ] || say "man page EXIT STATUS gives the order '$said', the program's table '$order'"
fi

# 7. arrows one way inside each part
if [ -x scripts/lint-arrows.sh ] && [ -d "$build/src" ]; then
	scripts/lint-arrows.sh "$build" src src/util src/io src/nn src/engines tiler store >/dev/null || fail=1
fi

[ $fail = 0 ] && echo "lint: ok"
exit $fail
