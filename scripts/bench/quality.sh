#!/bin/sh
# quality.sh [BUILD] [quality_bench.py options] - the inpainting quality and
# speed benchmark: tilepaint's telea, harmonic and patch engines against
# OpenCV (TELEA, NS), scikit-image biharmonic and G'MIC on real photos from
# Debian packages. Prints a table of medians; writes BUILD/bench/quality/.
#
# Photos come from python3-skimage (installed) and the wallpaper packages
# lomiri-wallpapers-16.04 and mate-backgrounds: when those are not installed they are
# fetched with `apt-get download` and unpacked under BUILD/bench/pkgs (the
# photos are never committed). tilepaint runs as `tilepaint inpaint -v -j 1`,
# one process per case; its time is every stage but file decoding and
# encoding. Every method's time is the fastest of up to 3 runs (--repeat).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
[ $# -gt 0 ] && shift
cd "$TOP"
PY=/usr/bin/python3

"$TOP/scripts/install-deps.sh" python3-opencv python3-skimage python3-numpy python3-pil gmic || true
for mod in cv2 skimage numpy PIL; do
	$PY -c "import $mod" 2>/dev/null || { echo "quality: python3 module $mod missing (apt-get install python3-opencv python3-skimage python3-numpy python3-pil)" >&2; exit 1; }
done
command -v gmic >/dev/null || { echo "quality: gmic missing (apt-get install gmic)" >&2; exit 1; }

make --no-print-directory -j2 "$BUILD/tilepaint" >/dev/null

# Wallpaper packages: installed, or downloaded and unpacked once.
ROOT=/
need=""
for p in lomiri-wallpapers-16.04 mate-backgrounds; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	ROOT="$TOP/$BUILD/bench/pkgs"
	mkdir -p "$ROOT"
	for p in $need; do
		if [ ! -f "$ROOT/.$p" ]; then
			(cd "$ROOT" && apt-get download "$p" >/dev/null 2>&1) || {
				echo "quality: cannot fetch Debian package $p; its photos are skipped" >&2; continue; }
			dpkg-deb -x "$ROOT"/"$p"_*.deb "$ROOT" && rm -f "$ROOT"/"$p"_*.deb && touch "$ROOT/.$p"
		fi
	done
	# python3-skimage is installed: link its data where the photo table expects it.
	mkdir -p "$ROOT/usr/lib/python3/dist-packages/skimage"
	[ -e "$ROOT/usr/lib/python3/dist-packages/skimage/data" ] || \
		ln -s /usr/lib/python3/dist-packages/skimage/data "$ROOT/usr/lib/python3/dist-packages/skimage/data"
fi

# OpenCV and OpenBLAS would otherwise use every core for the peers: one
# thread each, like one tilepaint worker, so the timings compare like for like.
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 exec $PY scripts/bench/quality_bench.py \
	--build "$BUILD" --root "$ROOT" --params-flag=--engine-opt "$@"
