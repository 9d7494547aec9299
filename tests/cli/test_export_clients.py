#!/usr/bin/python3
"""`diffss export` checked by the programs that read its files.

Builds a results folder as `diffss segment` writes it, with masks chosen to
be awkward (a ring with an island in its hole, a blob cut by the border,
pixels touching only diagonally, a lone pixel, random blobs with holes, an
empty mask, a failed query, a mask file that is gone), exports it in every
format and reads the files back without our code:

  COCO     the compressed RLE decoded by a decoder written here from the
           format's definition must equal our masks exactly; --polygons
           rasterised here (even-odd at pixel centres) must as well;
  labelme  Debian's labelme loads every file with its LabelFile (finding the
           image through the relative imagePath) and rebuilds the mask with
           its shapes_to_label: IoU >= 0.98;
  YOLO     the normalised polygons drawn with OpenCV's fillPoly: IoU >= 0.98;
  VOC      a palette PNG (index 1 = (128, 0, 0)) equal to the mask;
  masks    0/255 PNGs equal to the mask.

Then the COCO, labelme and YOLO files serve as support masks for `diffss segment`.
Exit 77 (skipped) when labelme's Python module is missing, after every other
check has run (install Debian's `labelme`).

Usage: test_export_clients.py DIFFSS_BINARY
"""

import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import yaml
from PIL import Image

DIFFSS = sys.argv[1]
CLASS = "widget"
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL: " + message)


def run(*args):
    env = dict(os.environ, DIFFSS_MODELS=os.path.join(TMP, "no-models"))
    p = subprocess.run([DIFFSS, *args], capture_output=True, text=True, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr


def iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


# --- the independent readers ----------------------------------------------

def coco_string_to_counts(s):
    """COCO's compressed counts: 5-bit groups, least significant first, char
    48 + group, bit 5 = more groups follow, bit 4 of the last group = sign;
    from the fourth count on, each is stored as its difference from the
    count two places before."""
    counts, p = [], 0
    while p < len(s):
        value, shift = 0, 0
        while True:
            c = ord(s[p]) - 48
            p += 1
            value |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    value -= 1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def counts_to_mask(counts, h, w):
    """Runs over the column-major pixels, background first."""
    assert sum(counts) == h * w, "counts cover %d pixels, not %d" % (sum(counts), h * w)
    flat = np.zeros(h * w, dtype=bool)
    pos, on = 0, False
    for c in counts:
        if on:
            flat[pos:pos + c] = True
        pos += c
        on = not on
    return flat.reshape(w, h).T


def fill_even_odd(points, h, w):
    """Pixels whose centre (x + 0.5, y + 0.5) is inside, even-odd rule."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    inside = np.zeros((h, w), dtype=bool)
    n = len(points)
    for i in range(n):
        (x0, y0), (x1, y1) = points[i], points[(i + 1) % n]
        if y0 == y1:
            continue
        spans = ((y0 <= ys) & (ys < y1)) | ((y1 <= ys) & (ys < y0))
        cross = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= spans & (xs < cross)
    return inside


# --- the results folder ------------------------------------------------------

def ring_scene(w, h):
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (40, 45), 30, 255, cv2.FILLED)
    cv2.circle(m, (40, 45), 14, 0, cv2.FILLED)
    cv2.rectangle(m, (37, 42), (42, 47), 255, cv2.FILLED)
    cv2.ellipse(m, (w - 5, 20), (18, 10), 30, 0, 360, 255, cv2.FILLED)
    m[h - 10, w - 30] = m[h - 9, w - 29] = 255
    m[5, 5] = 255
    return m


def blobs(w, h, seed):
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(7):
        cv2.circle(m, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(6, 40)), 255, cv2.FILLED)
    for _ in range(5):
        cv2.circle(m, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(2, 12)), 0, cv2.FILLED)
    return m


def make_results(root):
    queries, results = os.path.join(root, "queries"), os.path.join(root, "results")
    os.makedirs(queries)
    os.makedirs(results)
    masks = {
        "ring.jpg": ring_scene(120, 90),
        "blobs.png": blobs(200, 150, 3),
        "more blobs.jpg": blobs(161, 97, 4),
        "empty.jpg": np.zeros((48, 64), np.uint8),
        "failed.jpg": None,
        "gone.jpg": None,
    }
    records = []
    for name, mask in masks.items():
        path = os.path.join(queries, name)
        h, w = mask.shape if mask is not None else (40, 50)
        rng = np.random.default_rng(len(name))
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
        stem = os.path.splitext(name)[0]
        record = {"query": path, "mask": stem + ".png", "width": w, "height": h}
        if name == "failed.jpg":
            record.update(mask=None, error=path + ": corrupt JPEG", error_kind="corrupt")
        if mask is not None:
            Image.fromarray(mask).save(os.path.join(results, stem + ".png"))
        records.append(record)
    with open(os.path.join(results, "results.json"), "w") as f:
        json.dump({"format": "diffss-batch-results", "version": 2, "run": {}, "images": records}, f)
    return queries, results, {os.path.splitext(k)[0]: v for k, v in masks.items()}


# --- the checks ----------------------------------------------------------------

def export(results, fmt, out, *extra):
    code, stdout, stderr = run("export", "--results", results, "--format", fmt, "--out", out, "--class", CLASS, "--quiet", *extra)
    check(code == 3, "%s: exit code %d, expected 3 (two images without a result)\n%s%s" % (fmt, code, stdout, stderr))
    check("failed.jpg" in stderr and "gone.png" in stderr, "%s: the images without a result are not named:\n%s" % (fmt, stderr))
    check("Exported 4 of 6 images" in stdout, "%s: summary: %s" % (fmt, stdout))


def check_coco(results, masks, out, polygons):
    export(results, "coco", out, *(["--polygons"] if polygons else []))
    with open(os.path.join(out, "annotations.json")) as f:
        coco = json.load(f)
    check(coco["categories"] == [{"id": 1, "name": CLASS, "supercategory": CLASS}], "categories: %s" % coco["categories"])
    names = sorted(i["file_name"] for i in coco["images"])
    check(names == sorted(["ring.jpg", "blobs.png", "more blobs.jpg", "empty.jpg"]), "COCO images: %s" % names)
    ids = [a["id"] for a in coco["annotations"]]
    check(len(set(ids)) == len(ids), "annotation ids repeat")
    worst = 1.0
    for image in coco["images"]:
        h, w = image["height"], image["width"]
        expected = masks[os.path.splitext(image["file_name"])[0]] > 0
        check(expected.shape == (h, w), "%s: size %dx%d" % (image["file_name"], w, h))
        union = np.zeros((h, w), bool)
        mine = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        for a in mine:
            if polygons:
                part = np.zeros((h, w), bool)
                for flat in a["segmentation"]:
                    part |= fill_even_odd(list(zip(flat[0::2], flat[1::2])), h, w)
            else:
                check(a["segmentation"]["size"] == [h, w], "RLE size %s" % a["segmentation"]["size"])
                part = counts_to_mask(coco_string_to_counts(a["segmentation"]["counts"]), h, w)
            check(not (union & part).any(), "%s: annotations overlap" % image["file_name"])
            union |= part
            check(a["area"] == int(part.sum()), "%s: area %d, decoded %d" % (image["file_name"], a["area"], part.sum()))
            ys, xs = np.nonzero(part)
            bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
            check(a["bbox"] == bbox, "%s: bbox %s, decoded %s" % (image["file_name"], a["bbox"], bbox))
            check(a["iscrowd"] == 0 and a["category_id"] == 1, "iscrowd/category")
        n, _ = cv2.connectedComponents(expected.astype(np.uint8), connectivity=8)
        check(len(mine) == n - 1, "%s: %d annotations for %d components" % (image["file_name"], len(mine), n - 1))
        worst = min(worst, iou(union, expected))
        check(np.array_equal(union, expected), "%s: the decoded %s differs from the mask in %d pixels"
              % (image["file_name"], "polygons" if polygons else "RLE", int((union != expected).sum())))
    print("COCO %s: %d images, %d annotations, decoded union equal to the masks: %s (IoU %.4f)"
          % ("polygons" if polygons else "RLE", len(coco["images"]), len(coco["annotations"]), worst == 1.0, worst))


def check_labelme(results, masks, out):
    export(results, "labelme", out)
    files = sorted(f for f in os.listdir(out) if f.endswith(".json"))
    check(files == sorted(["ring.json", "blobs.json", "more blobs.json", "empty.json"]), "labelme files: %s" % files)
    try:
        from labelme.label_file import LabelFile
        from labelme import utils
    except ImportError as e:
        print("SKIP labelme checks: Debian's labelme is not installed (%s); apt-get install labelme" % e)
        return False
    for f in files:
        path = os.path.join(out, f)
        lf = LabelFile(path)  # reads the image through the relative imagePath
        image = utils.img_data_to_arr(lf.imageData)
        expected = masks[os.path.splitext(f)[0]] > 0
        check(image.shape[:2] == expected.shape, "%s: labelme's image is %s" % (f, image.shape))
        check(not os.path.isabs(lf.imagePath), "%s: imagePath %s is not relative" % (f, lf.imagePath))
        check(all(s["label"] == CLASS and s["shape_type"] == "polygon" for s in lf.shapes), "%s: shapes" % f)
        cls, _ = utils.shapes_to_label(image.shape, lf.shapes, {"_background_": 0, CLASS: 1})
        n, _ = cv2.connectedComponents(expected.astype(np.uint8), connectivity=8)
        check(len(lf.shapes) == n - 1, "%s: %d shapes for %d components" % (f, len(lf.shapes), n - 1))
        score = iou(cls == 1, expected)
        print("labelme %s: %d shapes, IoU %.4f (%d pixels differ)" % (f, len(lf.shapes), score, int(((cls == 1) != expected).sum())))
        check(score >= 0.98, "%s: labelme's mask has IoU %.4f with ours" % (f, score))
    return True


def check_yolo(results, masks, out):
    export(results, "yolo", out)
    with open(os.path.join(out, "data.yaml")) as f:
        data = yaml.safe_load(f)
    check(data["names"] == {0: CLASS} and data["train"] == "images", "data.yaml: %s" % data)
    images = sorted(os.listdir(os.path.join(out, "images")))
    labels = sorted(os.listdir(os.path.join(out, "labels")))
    check(images == sorted(["ring.jpg", "blobs.png", "more blobs.jpg", "empty.jpg"]), "YOLO images: %s" % images)
    check(labels == sorted(["ring.txt", "blobs.txt", "more blobs.txt", "empty.txt"]), "YOLO labels: %s" % labels)
    for image in images:
        stem = os.path.splitext(image)[0]
        check(Image.open(os.path.join(out, data["train"], image)).size[::-1] == masks[stem].shape, "%s: the linked image" % image)
        expected = masks[stem] > 0
        h, w = expected.shape
        drawn = np.zeros((h, w), np.uint8)
        with open(os.path.join(out, "labels", stem + ".txt")) as f:
            lines = f.read().split("\n")[:-1]
        for line in lines:
            values = line.split()
            check(values[0] == "0" and len(values) >= 7 and len(values) % 2 == 1, "%s: line %s" % (stem, line[:40]))
            xy = np.array(values[1:], float).reshape(-1, 2)
            check(((xy >= 0) & (xy <= 1)).all(), "%s: coordinates outside 0..1" % stem)
            cv2.fillPoly(drawn, [np.round(xy * [w, h]).astype(np.int32)], 1)
        score = iou(drawn, expected)
        print("YOLO %s: %d polygons, IoU %.4f" % (stem, len(lines), score))
        check(score >= 0.98, "%s: the YOLO polygons have IoU %.4f with the mask" % (stem, score))


def check_pngs(results, masks, out, fmt):
    export(results, fmt, out)
    for stem, mask in masks.items():
        path = os.path.join(out, stem + ".png")
        if mask is None:
            check(not os.path.exists(path), "%s: %s written for an image without a result" % (fmt, path))
            continue
        png = Image.open(path)
        if fmt == "voc":
            check(png.mode == "P" and png.getpalette()[3:6] == [128, 0, 0], "%s: not a VOC palette PNG" % path)
            check(np.array_equal(np.array(png), (mask > 0).astype(np.uint8)), "%s: indices differ from the mask" % path)
        else:
            check(png.mode == "L" and np.array_equal(np.array(png), mask), "%s: differs from the mask" % path)
    print("%s: %d PNGs equal to the masks" % (fmt, sum(m is not None for m in masks.values())))


def check_import(queries, results, coco_dir, labelme_dir, yolo_dir):
    """A COCO, labelme or YOLO file as the support mask of `diffss segment`."""
    support = os.path.join(queries, "blobs.png")
    query_dir = os.path.join(TMP, "import-queries")
    os.makedirs(query_dir)
    Image.open(os.path.join(queries, "more blobs.jpg")).save(os.path.join(query_dir, "q.png"))
    outputs = {}
    for kind, mask in [("png", os.path.join(results, "blobs.png")), ("coco", os.path.join(coco_dir, "annotations.json")),
                       ("labelme", os.path.join(labelme_dir, "blobs.json")), ("yolo", os.path.join(yolo_dir, "labels", "blobs.txt"))]:
        out = os.path.join(TMP, "import-" + kind)
        code, stdout, stderr = run("segment", "--support", support, "--mask", mask, "--queries", query_dir, "--out", out, "--quiet")
        check(code == 0, "segment with the %s support mask: exit %d\n%s" % (kind, code, stderr))
        outputs[kind] = np.array(Image.open(os.path.join(out, "q.png"))) if code == 0 else None
    if outputs["png"] is not None and outputs["coco"] is not None:
        check(np.array_equal(outputs["png"], outputs["coco"]), "segmenting from the COCO support mask differs from the PNG one")
    code, _, stderr = run("segment", "--support", support, "--mask", os.path.join(coco_dir, "nothing.json"), "--queries", query_dir,
                          "--out", os.path.join(TMP, "import-bad"), "--quiet")
    check(code != 0 and "nothing.json" in stderr, "a missing annotation file is not named: %s" % stderr)
    print("import: segment ran from the COCO, labelme and YOLO support masks; COCO gives the PNG's result exactly")


with tempfile.TemporaryDirectory() as TMP:
    queries, results, masks = make_results(TMP)
    check_coco(results, masks, os.path.join(TMP, "coco"), polygons=False)
    check_coco(results, masks, os.path.join(TMP, "coco-polygons"), polygons=True)
    have_labelme = check_labelme(results, masks, os.path.join(TMP, "labelme"))
    check_yolo(results, masks, os.path.join(TMP, "yolo"))
    check_pngs(results, masks, os.path.join(TMP, "voc"), "voc")
    check_pngs(results, masks, os.path.join(TMP, "masks"), "masks")
    check_import(queries, results, os.path.join(TMP, "coco"), os.path.join(TMP, "labelme"), os.path.join(TMP, "yolo"))
    code, _, stderr = run("export", "--results", results, "--format", "tiff", "--out", os.path.join(TMP, "x"))
    check(code == 2 and "tiff" in stderr, "an unknown format: exit %d, %s" % (code, stderr))
    code, _, stderr = run("export", "--results", os.path.join(TMP, "nowhere"), "--format", "coco", "--out", os.path.join(TMP, "x"))
    check(code == 1 and "nowhere" in stderr, "a missing results folder: exit %d, %s" % (code, stderr))

if failures:
    print("%d checks failed" % len(failures))
    sys.exit(1)
if not have_labelme:
    sys.exit(77)
print("all checks passed")
