#!/usr/bin/python3
"""The reference users would write: OpenCV's Telea on one image (python3-opencv)."""
import sys

import cv2

img, mask, out, radius = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
a = cv2.imread(img, cv2.IMREAD_UNCHANGED)
m = cv2.imread(mask, cv2.IMREAD_GRAYSCALE)
r = cv2.inpaint(a, m, radius, cv2.INPAINT_TELEA)
cv2.imwrite(out, r)
