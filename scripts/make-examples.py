#!/usr/bin/python3
"""Rebuild examples/ from Debian's mate-backgrounds package (GPL-2+ photos).

Usage: scripts/make-examples.py [SRC_DIR]   (default /usr/share/backgrounds/mate/nature,
       or unpack the package: apt-get download mate-backgrounds && dpkg-deb -x *.deb x)
Writes the images and their masks (<stem>_mask.png, 255 = inpaint) into examples/.
The masks are drawn with a fixed layout so they cross 512-pixel tile boundaries.
Needs python3-pil; only used to (re)make the committed examples, not at run time.
"""
import os
import shutil
import sys

from PIL import Image, ImageDraw

src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/backgrounds/mate/nature"
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
os.makedirs(out, exist_ok=True)

# 1. ladybird.jpg: the original 2560x1600 JPEG; a watermark and two scratches.
shutil.copyfile(os.path.join(src, "LadyBird.jpg"), os.path.join(out, "ladybird.jpg"))
m = Image.new("L", (2560, 1600), 0)
d = ImageDraw.Draw(m)
for i, ch in enumerate("SAMPLE"):           # block letters over tile seams
    x = 1700 + i * 120
    d.rectangle([x, 1380, x + 90, 1400], fill=255)
    d.rectangle([x, 1380, x + 18, 1500], fill=255)
    d.rectangle([x, 1480, x + 90, 1500], fill=255)
d.line([(100, 200), (1400, 900)], fill=255, width=3)
d.line([(2400, 80), (1900, 1200)], fill=255, width=2)
m.save(os.path.join(out, "ladybird_mask.png"), optimize=True)

# 2. wood.jpg: 2560x1920; thick free-form strokes (object removal).
shutil.copyfile(os.path.join(src, "Wood.jpg"), os.path.join(out, "wood.jpg"))
m = Image.new("L", (2560, 1920), 0)
d = ImageDraw.Draw(m)
d.line([(300, 1500), (700, 1100), (1100, 1050), (1500, 700)], fill=255, width=40, joint="curve")
d.ellipse([1900, 400, 2080, 560], fill=255)
m.save(os.path.join(out, "wood_mask.png"), optimize=True)

# 3. dune.png: a 1024x768 crop as 8-bit RGB PNG; dust spots and a rectangle.
im = Image.open(os.path.join(src, "Dune.jpg")).convert("RGB").crop((300, 200, 1324, 968))
im.save(os.path.join(out, "dune.png"), optimize=True)
m = Image.new("L", im.size, 0)
d = ImageDraw.Draw(m)
for k in range(40):
    x, y = (k * 397) % 1000 + 10, (k * 211) % 740 + 10
    d.ellipse([x, y, x + 3 + k % 5, y + 3 + k % 4], fill=255)
d.rectangle([480, 470, 560, 560], fill=255)
m.save(os.path.join(out, "dune_mask.png"), optimize=True)
