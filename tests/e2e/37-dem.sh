# Elevation models: one-band int16 and float32 GeoTIFFs made by gdal_translate
# come out with their sample format, georeferencing and nodata value
# (gdalinfo -json identical), every unmasked sample bit for bit (NaN payloads,
# -0.0, -32768, 8848.5), and with --mask nodata every nodata pixel filled with
# values inside the known range, for telea, harmonic and patch, the same bytes
# at -j 1 and -j 2 and when the tiles come back from the store. A file with no
# nodata value, a PNG output of float samples and lama on a DEM are refused
# with one line, exit 65, before any work. Needs gdal-bin (python3-gdal and
# numpy come with it), installed here when missing.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" gdal-bin python3-gdal python3-numpy
PY=/usr/bin/python3

# The DEMs: a float32 surface (tiled 128, deflate + predictor 3, nodata -9999
# and NaN holes, a big hole that needs the guide), the same as int16 (strips
# of 16, LZW + predictor 2, nodata -32768, known -32767 and 32767), a float32
# with nodata "nan", and one with no nodata value.
mkdir in
$PY - <<'EOF'
import numpy as np
from osgeo import gdal, osr
w, h = 520, 390
y, x = np.mgrid[0:h, 0:w].astype(np.float64)
z = (1200 + 400 * np.sin(x / 70.0) * np.cos(y / 55.0) + 0.8 * x - 0.3 * y).astype(np.float32)
z[5, 5] = 8848.5
z[5, 6] = -32768.0
z[6, 5] = -0.0
z[6, 6] = np.frombuffer(np.uint32(0x7fc01234).tobytes(), np.float32)[0]  # NaN, payload: a hole
holes = np.zeros((h, w), bool)
holes[40:70, 300:340] = True          # a block
holes[200:203, 20:500] = True         # a long scratch
holes[250:380, 60:230] = True         # a hole bigger than a tile's reach: the guide
for cx, cy, r in ((450, 100, 9), (100, 120, 4)):
    holes |= (x - cx) ** 2 + (y - cy) ** 2 <= r * r
def make(name, arr, dtype, nodata, opts):
    ds = gdal.GetDriverByName('GTiff').Create(name, w, h, 1, dtype, opts)
    ds.SetGeoTransform([600000, 25, 0, 5200000, 0, -25])
    s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
    ds.SetMetadataItem('AREA_OR_POINT', 'Point')
    b = ds.GetRasterBand(1); b.WriteArray(arr)
    if nodata is not None:
        b.SetNoDataValue(nodata)
    ds = None
f = z.copy(); f[holes] = -9999
make('in/f32.tif', f, gdal.GDT_Float32, -9999,
     ['TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128', 'COMPRESS=DEFLATE', 'PREDICTOR=3'])
i = np.nan_to_num(z).clip(-32767, 32767).astype(np.int16); i[7, 7] = 32767; i[7, 8] = -32767
i[holes] = -32768
make('in/i16.tif', i, gdal.GDT_Int16, -32768, ['BLOCKYSIZE=16', 'COMPRESS=LZW', 'PREDICTOR=2'])
n = z.copy(); n[holes] = np.nan
make('in/nan.tif', n, gdal.GDT_Float32, float('nan'), ['COMPRESS=ZSTD'])
make('bare.tif', z, gdal.GDT_Float32, None, [])
EOF

# check IN OUT: OUT is IN with its holes filled (python3-gdal reads both)
check() {
	$PY - "$1" "$2" <<'EOF' || fail "$2: not IN with its holes filled"
import json, sys, subprocess
import numpy as np
from osgeo import gdal
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
ja, jb = (json.loads(subprocess.check_output(['gdalinfo', '-json', p])) for p in sys.argv[1:])
for k in ('coordinateSystem', 'geoTransform', 'metadata', 'size', 'cornerCoordinates'):
    assert ja[k] == jb[k], k
for k in ('block', 'type', 'colorInterpretation', 'metadata'):
    assert ja['bands'][0][k] == jb['bands'][0][k], k
assert str(ja['bands'][0]['noDataValue']) == str(jb['bands'][0]['noDataValue']), 'nodata'
assert a.GetMetadata('IMAGE_STRUCTURE') == b.GetMetadata('IMAGE_STRUCTURE'), 'codec/predictor'
A, B = a.ReadAsArray(), b.ReadAsArray()
assert A.dtype == B.dtype and A.shape == B.shape
nd = a.GetRasterBand(1).GetNoDataValue()
isf = A.dtype == np.float32
hole = np.isnan(A) if isf else np.zeros(A.shape, bool)
if nd is not None and nd == nd:
    hole |= A == nd
bits = (lambda v: v.view(np.uint32)) if isf else (lambda v: v.view(np.uint16))
assert np.array_equal(bits(A[~hole]), bits(B[~hole])), 'unmasked samples differ'
left = np.isnan(B[hole]) if isf else np.zeros(hole.sum(), bool)
if nd is not None and nd == nd:
    left |= B[hole] == nd
assert not left.any(), '%d nodata pixels left' % left.sum()
known = A[~hole].astype(np.float64)
known = known[np.isfinite(known)]
fill = B[hole].astype(np.float64)
assert fill.min() >= known.min() and fill.max() <= known.max(), 'fill outside the known range'
EOF
}

for e in telea harmonic patch; do
	note "$e"
	expect_exit 0 "$TP" run in --mask nodata -o out-$e-1 --engine $e -j 1 --tile 128
	expect_exit 0 "$TP" run in --mask nodata -o out-$e-2 --engine $e -j 2 --tile 128
	for f in f32 i16 nan; do
		check in/$f.tif out-$e-1/$f.tif
		cmp out-$e-1/$f.tif out-$e-2/$f.tif || fail "$e: $f.tif differs between -j 1 and -j 2"
	done
done
# the big hole got the guide: patch's debug line says so
expect_exit 0 "$TP" run in/f32.tif --mask nodata -o guide --engine patch --tile 128 -v
grep_err "guide .* for [1-9][0-9]* tiles"

# grown masks (the nodata mask read apart from the image): no nodata left,
# and pixels beyond the grown holes untouched
expect_exit 0 "$TP" run in/i16.tif --mask nodata --dilate 2 -o dil1 --engine telea -j 1 --tile 128
expect_exit 0 "$TP" run in/i16.tif --mask nodata --dilate 2 -o dil2 --engine telea -j 2 --tile 128
cmp dil1/i16.tif dil2/i16.tif || fail "--dilate: -j 1 and -j 2 differ"
$PY - <<'EOF' || fail "dil1/i16.tif: nodata left or far pixels changed"
import numpy as np
from osgeo import gdal
A, B = (gdal.Open(p).ReadAsArray() for p in ('in/i16.tif', 'dil1/i16.tif'))
h = A == -32768
g = h.copy()
for dy in range(-2, 3):
    for dx in range(-2, 3):
        g |= np.roll(np.roll(h, dy, 0), dx, 1)
assert not (B == -32768).any()
assert np.array_equal(A[~g], B[~g])
assert (A[g & ~h] != B[g & ~h]).any()
EOF

# killed after its 3rd tile and resumed, the tiles from the store blend to
# the same bytes
TILEPAINT_TEST_FREEZE=tile:3 "$TP" run in/f32.tif --mask nodata -o res --engine harmonic -j 1 \
	--tile 128 2>"$T/k.err" &
pid=$!
wait_stopped $pid
kill -9 $pid
wait $pid 2>/dev/null || true
expect_exit 0 "$TP" run in/f32.tif --mask nodata -o res --engine harmonic -j 1 --tile 128
grep_err "tiles: [1-9][0-9]* inpainted, 3 reused"
cmp res/f32.tif out-harmonic-2/f32.tif || fail "resumed float tiles blend differently"

# a mask file works on float samples too; NaN outside the mask stays NaN
"$TOOL" mask m.png 520 390 rect:300,40,40,30
expect_exit 0 "$TP" inpaint in/f32.tif m.png one.tif --engine harmonic
$PY - <<'EOF' || fail "one.tif: unmasked samples differ"
import numpy as np
from osgeo import gdal
A, B = (gdal.Open(p).ReadAsArray() for p in ('in/f32.tif', 'one.tif'))
m = np.zeros(A.shape, bool); m[40:70, 300:340] = True
assert np.array_equal(A[~m].view(np.uint32), B[~m].view(np.uint32))
assert (B[m] != -9999).all() and np.isfinite(B[m]).all()
EOF

# inpaint takes the word nodata for MASK, as run takes --mask nodata; a file
# of that name is ./nodata
expect_exit 0 "$TP" inpaint in/f32.tif nodata nd.tif --engine harmonic -j 1 --tile 128
cmp nd.tif out-harmonic-1/f32.tif || fail "inpaint IMAGE nodata differs from run --mask nodata"
expect_exit 0 "$TP" inpaint - nodata - --engine harmonic -j 1 --tile 128 < in/f32.tif
cmp "$T/.stdout" nd.tif || fail "inpaint - nodata - differs"
expect_exit 65 "$TP" inpaint bare.tif nodata nd2.tif
grep_err "bare.tif: --mask nodata: the file has no no-data value"
[ ! -e nd2.tif ] || fail "output written by inpaint for a file without nodata"

# refusals: one line, exit 65, no output, nothing else done
expect_exit 65 "$TP" run bare.tif --mask nodata -o bad
grep_err "bare.tif: --mask nodata: the file has no no-data value (no GDAL_NODATA tag)"
eq "$(grep -c error "$T/.stderr")" 1 "error lines for a file without nodata"
[ ! -e bad/bare.tif ] || fail "output written for a file without nodata"
expect_exit 65 "$TP" inpaint in/f32.tif m.png f.png --engine telea
grep_err "in/f32.tif: 32-bit float samples cannot be written to f.png (png holds only unsigned ones; write a .tif)"
[ ! -e f.png ] || fail "a PNG of float samples was written"
: >model.safetensors
expect_exit 65 "$TP" inpaint in/i16.tif m.png l.tif --engine lama --model model.safetensors
grep_err "in/i16.tif: the lama engine takes 8/16-bit unsigned images, not signed 16-bit samples"
no_temps .
