# A GeoTIFF comes out as it went in: georeferencing, nodata, metadata, EXIF
# and GPS, tiling and block size, compression and predictor (gdalinfo and
# exiftool see no difference but the file name), unmasked pixels identical;
# overviews are dropped with one warning; a tag libtiff cannot carry is
# warned about by number and name; a corrupt tag is one error line, exit 65,
# no output. Needs gdal-bin and exiftool (installed here when missing).
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" gdal-bin libimage-exiftool-perl

# gdalinfo of a file, without the lines naming it
info() { gdalinfo "$@" | grep -v -e '^Files:' -e '\.aux\.xml$' -e '^  *[^ ]*\.tif$'; }
same_info() {
	info "$1" >"$T/i1"; info "$2" >"$T/i2"
	diff "$T/i1" "$T/i2" >/dev/null || { diff "$T/i1" "$T/i2"; fail "gdalinfo of $2 differs from $1"; }
}

mkdir in
"$TOOL" gen src.png 700 520 3 8 5
"$TOOL" mask mask.png 700 520 disk:350,260,45 rect:20,30,60,40
geo() { # geo OUT gdal_translate-options...: src.png as a GeoTIFF
	out=$1; shift
	gdal_translate -q -of GTiff -a_srs EPSG:32633 -a_ullr 500000 5605200 507000 5600000 \
		-a_nodata 0 -mo AREA=test -mo "SOURCE=tilepaint e2e" -mo TIFFTAG_ARTIST=someone \
		-mo "TIFFTAG_DATETIME=2024:01:02 03:04:05" "$@" src.png "$out"
}
geo in/geo.tif -co TILED=YES -co BLOCKXSIZE=256 -co BLOCKYSIZE=256 -co COMPRESS=DEFLATE -co PREDICTOR=2
geo in/tiles.tif -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=128 -co COMPRESS=LZW
geo in/strips.tif -co BLOCKYSIZE=16 -co COMPRESS=ZSTD -co PREDICTOR=2 -co INTERLEAVE=BAND
geo in/big.tif -co BIGTIFF=YES -co TILED=YES -co COMPRESS=PACKBITS -co ENDIANNESS=BIG
for f in geo tiles strips big; do cp mask.png in/${f}_mask.png; done
# EXIF, GPS, IPTC and XMP on top
cp in/geo.tif in/exif.tif
exiftool -q -overwrite_original -Make=Canon -Model="EOS 5D" -ExposureTime=1/250 -FNumber=5.6 \
	-ISO=200 -DateTimeOriginal="2024:05:06 07:08:09" -GPSLatitude=48.1 -GPSLatitudeRef=N \
	-GPSLongitude=11.5 -GPSLongitudeRef=E -GPSAltitude=520 -InteropIndex=R98 \
	-IPTC:Keywords=orthophoto -XMP:Title=hello -Copyright="(c) nobody" in/exif.tif
cp mask.png in/exif_mask.png

expect_exit 0 "$TP" run in -o out --engine telea
! grep -q warning "$T/.stderr" || { cat "$T/.stderr"; fail "warnings for files whose tags all copy"; }
for f in geo tiles strips big exif; do
	same_info in/$f.tif out/$f.tif
	"$TOOL" unmasked in/$f.tif out/$f.tif mask.png >/dev/null || fail "$f: unmasked pixels differ"
done
# and gdalinfo did see what this is about
info out/geo.tif >"$T/i"
for want in 'ID\["EPSG",32633\]' 'Origin = (500000' 'Pixel Size = (10' 'NoData Value=0' \
	'Block=256x256' 'COMPRESSION=DEFLATE' 'PREDICTOR=2' 'AREA=test' 'SOURCE=tilepaint e2e' \
	'TIFFTAG_ARTIST=someone'; do
	grep -q "$want" "$T/i" || { cat "$T/i"; fail "out/geo.tif: gdalinfo lacks $want"; }
done
gdalinfo -json out/geo.tif >"$T/j1"; gdalinfo -json in/geo.tif >"$T/j2"
python3 - "$T/j1" "$T/j2" <<'PY' || fail "gdalinfo -json differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("coordinateSystem", "geoTransform", "metadata", "size"):
    assert a[k] == b[k], k
for ba, bb in zip(a["bands"], b["bands"]):
    for k in ("block", "noDataValue", "type", "colorInterpretation"):
        assert ba[k] == bb[k], k
PY
info out/tiles.tif | grep -q 'Block=512x128' || fail "tiles.tif: tile size not kept"
info out/strips.tif | grep -q 'Block=700x16' || fail "strips.tif: rows per strip not kept"
info out/strips.tif | grep -q 'INTERLEAVE=BAND' || fail "strips.tif: planes not kept"
exiftool -a -G1 -s in/exif.tif | grep -v -e '^\[System\]' -e '^\[File\]' -e 'TileOffsets' >"$T/x1"
exiftool -a -G1 -s out/exif.tif | grep -v -e '^\[System\]' -e '^\[File\]' -e 'TileOffsets' >"$T/x2"
diff "$T/x1" "$T/x2" || fail "exiftool sees different tags in out/exif.tif"
for want in '\[GPS\] *GPSLatitude ' '\[ExifIFD\] *ExposureTime' '\[InteropIFD\] *InteropIndex' \
	'\[IPTC\] *Keywords' '\[XMP-dc\] *Title' '\[GeoTiff\] *ProjectedCSType' '\[IFD0\] *GDALNoData'; do
	grep -q "$want" "$T/x2" || fail "out/exif.tif lacks $want"
done

# overviews: dropped with one warning, the first page done
mkdir ov
cp in/geo.tif ov/ov.tif
gdaladdo -q ov/ov.tif 2 4
cp mask.png ov/ov_mask.png
expect_exit 0 "$TP" run ov -o ovout --engine telea
grep_err "warning: ov/ov.tif: 2 more TIFF pages not copied (2 of them reduced-resolution overviews): only the first page is written"
eq "$(grep -c warning "$T/.stderr")" 1 "warning lines for overviews"
! info ovout/ov.tif | grep -q Overviews || fail "ovout/ov.tif has overviews"
"$TOOL" unmasked ov/ov.tif ovout/ov.tif mask.png >/dev/null || fail "ov: unmasked pixels differ"

# patch_tag FILE TAG NEWTAG|-OFFSET: in a classic little-endian TIFF, renumber
# the first IFD's entry for TAG, or point its value at OFFSET
patch_tag() {
	python3 - "$@" <<'PY'
import struct, sys
path, tag, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(path, "rb").read())
assert b[:4] == b"II*\0"
off = struct.unpack_from("<I", b, 4)[0]
n = struct.unpack_from("<H", b, off)[0]
for i in range(n):
    e = off + 2 + 12 * i
    if struct.unpack_from("<H", b, e)[0] == tag:
        if new >= 0:
            struct.pack_into("<H", b, e, new)
        else:
            struct.pack_into("<I", b, e + 8, -new)
        break
else:
    sys.exit("no tag %d" % tag)
open(path, "wb").write(b)
PY
}
mkdir bad
cp in/geo.tif bad/corrupt.tif
patch_tag bad/corrupt.tif 42112 -2147483647   # GDAL_METADATA's text past the end of the file
cp in/geo.tif bad/gray.tif
patch_tag bad/gray.tif 42113 290              # GDAL_NODATA renumbered GrayResponseUnit
cp mask.png bad/corrupt_mask.png; cp mask.png bad/gray_mask.png
expect_exit 65 "$TP" run bad -o badout --engine telea
eq "$(grep -c 'bad/corrupt.tif' "$T/.stderr")" 1 "error lines for the corrupt tag"
grep_err "error: bad/corrupt.tif: corrupt TIFF tag 42112 in the first page IFD: its .* bytes at offset 2147483647 lie past the end of the file"
[ ! -e badout/corrupt.tif ] || fail "an output for the corrupt TIFF"
no_temps badout
grep_err "warning: bad/gray.tif: TIFF tag 290 (GrayResponseUnit) not copied: libtiff does not carry this tag"
eq "$(grep -c 'bad/gray.tif' "$T/.stderr")" 1 "lines for the uncopied tag"
"$TOOL" unmasked bad/gray.tif badout/gray.tif mask.png >/dev/null || fail "gray.tif not done"
