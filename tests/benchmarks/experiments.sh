#!/usr/bin/env bash
# The DifFSS experiment with the built-in segmenter: does adding generated
# variants of each support (as extra shots with its mask) help?
#   [GENERATOR=NAME] tests/benchmarks/experiments.sh [BUILD_DIR] [DATASET] [SEED]
# Defaults: build, ../shared/data/dev-fss, 0. Prints a Markdown table of
# `diffss eval` results (mIoU, FB-IoU, per class) for: 1-shot; 1-shot + 4
# variants for each augment recipe; the default recipe with X = 0, 2, 4, 8
# variants; the default recipe with each control type; 2-shot with and
# without variants; generated shots weighted 0.5 and 0.25 of a real one.
# Each row is one `diffss eval` with the same seed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
data="${2:-$root/../shared/data/dev-fss}"
seed="${3:-0}"
diffss="$build/app/diffss"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

row() { # label, eval arguments...
    local label="$1"; shift
    "$diffss" eval --dataset "$data" --seed "$seed" --json "$work/r.json" "$@" >/dev/null
    /usr/bin/python3 - "$work/r.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
classes = " | ".join("%.1f" % (100 * v["iou"]) for v in r["classes"].values())
print("| %s | %.1f | %.1f | %s | %.0f |" % (sys.argv[2], 100 * r["miou"], 100 * r["fbiou"], classes, r["seconds"]))
PY
}

names=$(/usr/bin/python3 -c "import os,sys; print(' | '.join(sorted(d for d in os.listdir(sys.argv[1]) if os.path.isdir(os.path.join(sys.argv[1], d)))))" "$data")
echo "| setting | mIoU | FB-IoU | $names | seconds |"
echo "|---|---|---|$(echo "$names" | sed 's/[^|]*/---/g')|---|"
row "1-shot (no variants)" --shots 1
# GENERATOR=diffusion (or any generator name): the paper's two series for it
# alone, mIoU against X and against the control type, then stop.
if [[ -n "${GENERATOR:-}" ]]; then
    for x in 1 2 4 8; do
        row "1-shot + $x $GENERATOR" --shots 1 --aux "$x" --generator "$GENERATOR"
    done
    for control in softedge scribble; do
        row "1-shot + 4 $GENERATOR, control $control" --shots 1 --aux 4 --generator "$GENERATOR" --control "$control"
    done
    exit 0
fi
for recipe in all appearance background geometry mild; do
    row "1-shot + 4 augment:$recipe" --shots 1 --aux 4 --generator "augment:$recipe"
done
for x in 2 8; do
    row "1-shot + $x augment:all" --shots 1 --aux "$x" --generator augment:all
done
for control in softedge scribble; do
    row "1-shot + 4 augment:all, control $control" --shots 1 --aux 4 --generator augment:all --control "$control"
done
for w in 0.5 0.25; do
    for recipe in background all; do
        row "1-shot + 4 augment:$recipe, weight $w" --shots 1 --aux 4 --generator "augment:$recipe" --generated-weight "$w"
    done
done
row "2-shot (no variants)" --shots 2
row "2-shot + 4 augment:all per shot" --shots 2 --aux 4 --generator augment:all
