#!/bin/sh
# dem.sh BUILD - filling the holes of an elevation model: `tilepaint run
# --mask nodata --engine harmonic` (and telea) against gdal_fillnodata.py
# (inverse-distance interpolation, the GDAL tool for this), in the same
# invocation, on 4000 x 4000 float32 GeoTIFFs whose true values are known:
#   fractal - a 1/f^2.2-spectrum terrain (2.2 km of relief, 10 m cells),
#   smooth  - an analytic surface (sums of sines and a slope),
# each with nodata holes of many sizes (discs of radius 2-120 px, blocks,
# scratches; 2.9% of the pixels). Prints whole-process seconds (fastest of
# RUNS), the ratio to gdal_fillnodata, and RMSE / max |error| against the
# truth inside the holes. Both write the input's layout (tiled 256, deflate,
# predictor 3). Needs gdal-bin (python3-gdal, numpy).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
TP="$BUILD/tilepaint"
RUNS=${RUNS:-3}
N=${DEM_SIDE:-4000}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
"$TOP/scripts/install-deps.sh" gdal-bin python3-gdal python3-numpy bc
PY=/usr/bin/python3
W=$(mktemp -d "${TMPDIR:-/tmp}/tp-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

$PY - "$N" <<'EOF'
import sys
import numpy as np
from osgeo import gdal, osr
n = int(sys.argv[1])
rng = np.random.default_rng(12)
fy = np.fft.fftfreq(n)[:, None]
fx = np.fft.rfftfreq(n)[None, :]
f = np.sqrt(fx * fx + fy * fy)
f[0, 0] = 1.0
spec = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f ** 2.2
spec[0, 0] = 0
z = np.fft.irfft2(spec, s=(n, n))
z = (z - z.min()) / (z.max() - z.min()) * 2200.0 + 300.0
y, x = np.mgrid[0:n, 0:n].astype(np.float64)
s = 900 + 250 * np.sin(x / 310.0) * np.cos(y / 270.0) + 80 * np.sin((x + 2 * y) / 95.0) + 0.05 * x
holes = np.zeros((n, n), bool)
for i in range(120):   # discs of radius 2..120 px, most of them small
    r = int(2 + 118 * rng.random() ** 6)
    cx, cy = rng.integers(r, n - r, 2)
    yy, xx = np.ogrid[-r:r + 1, -r:r + 1]
    holes[cy - r:cy + r + 1, cx - r:cx + r + 1] |= xx * xx + yy * yy <= r * r
for i in range(30):    # blocks
    w, h = rng.integers(5, 60, 2)
    cx, cy = rng.integers(0, n - 60, 2)
    holes[cy:cy + h, cx:cx + w] = True
for i in range(12):    # scratches, 2-4 px wide
    cy, t = rng.integers(0, n - 4), rng.integers(2, 5)
    x0 = rng.integers(0, n // 2)
    holes[cy:cy + t, x0:x0 + n // 3] = True
print("holes: %.2f%% of %dx%d" % (100.0 * holes.mean(), n, n))
for name, surf in (("fractal", z), ("smooth", s)):
    truth = surf.astype(np.float32)
    np.save(name + "-truth.npy", truth)
    np.save(name + "-holes.npy", holes)
    a = truth.copy()
    a[holes] = -9999
    ds = gdal.GetDriverByName("GTiff").Create(name + ".tif", n, n, 1, gdal.GDT_Float32,
            ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=3"])
    ds.SetGeoTransform([400000, 10, 0, 5300000, 0, -10])
    sr = osr.SpatialReference(); sr.ImportFromEPSG(32633); ds.SetProjection(sr.ExportToWkt())
    b = ds.GetRasterBand(1); b.WriteArray(a); b.SetNoDataValue(-9999)
    ds = None
EOF

score() { # score NAME OUT: "rmse max" inside the holes
	$PY - "$1" "$2" <<'EOF'
import sys
import numpy as np
from osgeo import gdal
t, h = np.load(sys.argv[1] + "-truth.npy"), np.load(sys.argv[1] + "-holes.npy")
o = gdal.Open(sys.argv[2]).ReadAsArray()
left = (o[h] == -9999) | np.isnan(o[h])
e = np.abs(o[h].astype(np.float64) - t[h])
e[left] = np.nan
print("%.3f %.3f %d" % (np.sqrt(np.nanmean(e * e)), np.nanmax(e), left.sum()))
EOF
}
ms() { date +%s%N | awk '{printf "%.1f", $1 / 1e6}'; }
# best NAME FUNC: FUNC's fastest of RUNS, in seconds (it writes out-NAME.tif)
best() {
	b=""
	for i in $(seq "$RUNS"); do
		rm -rf o "out-$1.tif"
		t0=$(ms)
		"$2" >"$W/cmd.err" 2>&1 || { cat "$W/cmd.err" >&2; echo "dem.sh: $2 failed" >&2; exit 1; }
		t1=$(ms)
		s=$(echo "($t1 - $t0) / 1000" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$s < $b" | bc)" -eq 1 ]; then b=$s; fi
	done
	echo "$b"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-8s %-34s %8s %7s %9s %9s %6s\n" dem command seconds ratio rmse "max|err|" left
for dem in fractal smooth; do
	# the layout tilepaint keeps from the input: tiled 256, deflate, predictor 3
	# (file names first: -co takes every word after it)
	gdal_run() { gdal_fillnodata.py "$dem.tif" "out-$dem.tif" -q -md 400 -co TILED=YES \
		-co BLOCKXSIZE=256 -co BLOCKYSIZE=256 -co COMPRESS=DEFLATE -co PREDICTOR=3; }
	h_run() { "$TP" run "$dem.tif" --mask nodata --engine harmonic -o o -q && mv "o/$dem.tif" "out-$dem.tif"; }
	t_run() { "$TP" run "$dem.tif" --mask nodata --engine telea -o o -q && mv "o/$dem.tif" "out-$dem.tif"; }
	ref=""
	for c in gdal_run h_run t_run; do
		s=$(best "$dem" $c)
		[ -n "$ref" ] || ref=$s
		set -- $(score "$dem" "out-$dem.tif")
		case $c in
		gdal_run) what="gdal_fillnodata.py -md 400" ;;
		h_run) what="tilepaint --engine harmonic -j $(nproc)" ;;
		t_run) what="tilepaint --engine telea -j $(nproc)" ;;
		esac
		printf "%-8s %-34s %8.2f %7.3f %9.3f %9.3f %6s\n" "$dem" "$what" "$s" \
			"$(echo "$s / $ref" | bc -l)" "$1" "$2" "$3"
	done
done
echo "(whole process, fastest of $RUNS; ratio = seconds / gdal_fillnodata's; errors in metres"
echo " against the true surface inside the holes; left = hole pixels still nodata)"
