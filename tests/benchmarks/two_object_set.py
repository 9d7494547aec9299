#!/usr/bin/python3
"""Make a two-object folder from an FSS-1000-layout folder, to measure whether
the segmenter picks the supports' class when another object stands out too.

Every image of class X is put side by side with an image of another class
(the next class in name order, the same index modulo its size; the side
alternates); the mask keeps X's object only. Supports drawn from this folder
show two objects as well, with X marked.

    /usr/bin/python3 tests/benchmarks/two_object_set.py SRC_DIR OUT_DIR [--side 320]

Needs Debian's python3-opencv. Then: diffss eval --dataset OUT_DIR
"""
import argparse
import os
import sys

import cv2
import numpy as np


def read_pair(folder, stem):
    image = cv2.imread(os.path.join(folder, stem + ".jpg"), cv2.IMREAD_COLOR)
    mask = cv2.imread(os.path.join(folder, stem + ".png"), cv2.IMREAD_GRAYSCALE)
    if image is None or mask is None:
        raise SystemExit(f"{folder}/{stem}: image or mask unreadable")
    return image, (mask > 0).astype(np.uint8) * 255


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--side", type=int, default=320)
    a = ap.parse_args()
    classes = sorted(d for d in os.listdir(a.src) if os.path.isdir(os.path.join(a.src, d)))
    if len(classes) < 2:
        raise SystemExit("two classes at least are needed")
    stems = {c: sorted(f[:-4] for f in os.listdir(os.path.join(a.src, c))
                       if f.endswith(".jpg") and os.path.exists(os.path.join(a.src, c, f[:-4] + ".png")))
             for c in classes}
    s = a.side
    for ci, c in enumerate(classes):
        other = classes[(ci + 1) % len(classes)]
        os.makedirs(os.path.join(a.out, c), exist_ok=True)
        for i, stem in enumerate(stems[c]):
            img, mask = read_pair(os.path.join(a.src, c), stem)
            o_stem = stems[other][i % len(stems[other])]
            o_img, _ = read_pair(os.path.join(a.src, other), o_stem)
            img = cv2.resize(img, (s, s), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (s, s), interpolation=cv2.INTER_NEAREST)
            o_img = cv2.resize(o_img, (s, s), interpolation=cv2.INTER_AREA)
            blank = np.zeros_like(mask)
            if i % 2 == 0:
                out_img, out_mask = np.hstack([img, o_img]), np.hstack([mask, blank])
            else:
                out_img, out_mask = np.hstack([o_img, img]), np.hstack([blank, mask])
            cv2.imwrite(os.path.join(a.out, c, stem + ".jpg"), out_img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(os.path.join(a.out, c, stem + ".png"), out_mask)
    print(f"{sum(len(v) for v in stems.values())} two-object images in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
