#!/bin/sh
# lint-arrows.sh BUILD PART... - within each part (a source directory such as
# src/io), the .c files must use each other one way only: no file may reach a
# file that reaches it back. Reads the object files BUILD/PART/*.o with nm: a
# file uses another when it references (U) an external symbol the other
# defines (T, D, R, B...). Prints, for each pair that uses each other,
#   lint: PART: a.c and b.c use each other (a.c calls f, b.c calls g)
# and for a longer cycle (through arrows not in such a pair)
#   lint: PART: a.c -> b.c -> c.c -> a.c form a cycle (a.c calls f, ...)
# on stderr; exit 1 when any part has a cycle, 2 on a missing build, else 0.
# With -g first, also print each part's arrows on stdout, one file a line:
#   PART: a.c -> b.c c.c
# Example: scripts/lint-arrows.sh build src/io src/nn src/engines tiler store src/util
set -u
graph=0
[ "${1:-}" = -g ] && { graph=1; shift; }
[ $# -ge 2 ] || { echo "usage: lint-arrows.sh [-g] BUILD PART..." >&2; exit 2; }
BUILD=$1
shift
NM=${NM:-nm}
status=0
for part in "$@"; do
	part=${part%/}
	set -- "$BUILD/$part"/*.o
	[ -e "$1" ] || { echo "lint: $part: no object files in $BUILD/$part (build first)" >&2; exit 2; }
	for o in "$@"; do
		f=${o##*/}
		# an object whose source is gone (a file removed since the build) is stale
		[ -f "$part/${f%.o}.c" ] || continue
		# "file.c symbol type", one line per symbol nm lists
		"$NM" -P "$o" | awk -v f="${f%.o}.c" 'NF >= 2 { print f, $1, $2 }'
	done | awk -v part="$part" -v graph="$graph" '
	# names, defined by files, refs by files
	{ file[$1] = 1 }
	$3 ~ /^[TDRBCGSWV]$/ { def[$2] = $1; verb[$2] = ($3 == "T" || $3 == "W") ? "calls" : "uses" }
	$3 == "U" { nref++; rf[nref] = $1; rs[nref] = $2 }
	# "a.c calls f g" for the symbols a.c takes from b.c, grouped by verb
	function what(a, b,    s, v, out) {
		out = ""
		for (v = 1; v <= 2; v++) {
			s = v == 1 ? syms_calls[a, b] : syms_uses[a, b]
			if (s == "") continue
			out = out (out == "" ? a " " : ", ") (v == 1 ? "calls" : "uses") s
		}
		return out
	}
	END {
		for (i = 1; i <= nref; i++) {
			a = rf[i]; s = rs[i]
			if (!(s in def) || def[s] == a) continue
			b = def[s]
			edge[a, b] = 1
			if (verb[s] == "calls") syms_calls[a, b] = syms_calls[a, b] " " s
			else syms_uses[a, b] = syms_uses[a, b] " " s
		}
		n = 0
		for (f in file) node[++n] = f
		# sorted, so the report does not depend on awk hash order
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && node[j - 1] > node[j]; j--) {
				t = node[j]; node[j] = node[j - 1]; node[j - 1] = t
			}
		if (graph)
			for (i = 1; i <= n; i++) {
				out = ""
				for (j = 1; j <= n; j++)
					if (edge[node[i], node[j]]) out = out " " node[j]
				printf "%s: %s ->%s\n", part, node[i], out == "" ? " (nothing)" : out
			}
		bad = 0
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++) {
				a = node[i]; b = node[j]
				if (edge[a, b] && edge[b, a]) {
					printf "lint: %s: %s and %s use each other (%s, %s)\n", part, a, b,
						what(a, b), what(b, a) > "/dev/stderr"
					bad = 1
					pair[i, j] = pair[j, i] = 1
				}
			}
		# longer cycles, among the arrows not in a pair above: files that reach
		# each other (transitive closure), one shortest cycle per such group
		for (i = 1; i <= n; i++)
			for (j = 1; j <= n; j++)
				reach[i, j] = arrow[i, j] = edge[node[i], node[j]] && !pair[i, j]
		for (k = 1; k <= n; k++)
			for (i = 1; i <= n; i++)
				if (reach[i, k])
					for (j = 1; j <= n; j++)
						if (reach[k, j]) reach[i, j] = 1
		for (i = 1; i <= n; i++) {
			if (done[i] || !reach[i, i]) continue
			for (j = 1; j <= n; j++)
				if (reach[i, j] && reach[j, i]) done[j] = 1
			# shortest way back to i, breadth first
			split("", par); split("", seen)
			head = 1; tail = 1; q[1] = i; seen[i] = 1; last = 0
			while (head <= tail && !last) {
				u = q[head++]
				for (v = 1; v <= n; v++) {
					if (!arrow[u, v]) continue
					if (v == i) { last = u; break }
					if (!seen[v]) { seen[v] = 1; par[v] = u; q[++tail] = v }
				}
			}
			m = 0
			for (u = last; u != i; u = par[u]) cyc[++m] = u
			cyc[++m] = i
			path = node[i]; detail = ""
			for (k = m; k >= 1; k--) {
				from = node[cyc[k]]; to = node[cyc[k == 1 ? m : k - 1]]
				path = path " -> " to
				detail = detail (detail == "" ? "" : ", ") what(from, to)
			}
			printf "lint: %s: %s form a cycle (%s)\n", part, path, detail > "/dev/stderr"
			bad = 1
		}
		exit bad
	}' || status=1
done
[ "$status" -eq 0 ] && echo "lint: arrows ok"
exit "$status"
