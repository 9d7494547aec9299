#!/usr/bin/env bash
# Batch segmentation throughput and memory, whole processes, median of runs.
#   tests/benchmarks/bench_segment.sh [BUILD_DIR] [RUNS] [PER_CLASS]   (defaults: build, 3, 67)
# 1. `diffss segment` with the built-in backend on ../shared/data/dev-fss (16
#    photos, 224 to 2048 px; skipped when absent) and on a folder of generated
#    320 x 240 scenes (3 x PER_CLASS images, 201 by default), at 1 and 2 threads: images per second (the
#    run's own figure in results.json, model preparation excluded), wall time
#    and peak resident memory (GNU time).
# 2. The TorchScript path against a Python loop with Debian's python3-torch
#    that loads the same model and images with the same thread count
#    (tests/benchmarks/torchscript_models.py): whole-process wall time, ratio.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
runs="${2:-3}"
per_class="${3:-67}"
diffss="$build/app/diffss"
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Folders: dev-fss flattened, and generated scenes.
"$diffss" demo --out "$work/gen" --images "$per_class" >/dev/null
mkdir -p "$work/gen-queries"
for c in "$work"/gen/*/; do for f in "$c"*.jpg; do cp "$f" "$work/gen-queries/$(basename "$c")_$(basename "$f")"; done; done
gen_support="$work/gen/spotted_ball/1.jpg"
folders=("gen-queries|$gen_support")
shared="$root/../shared/data/dev-fss"
if [ -d "$shared" ]; then
    mkdir -p "$work/devfss"
    for c in "$shared"/*/; do for f in "$c"*.jpg; do cp "$f" "$work/devfss/$(basename "$c")_$(basename "$f")"; done; done
    folders+=("devfss|$shared/cat/1.jpg")
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== built-in backend: diffss segment, median of $runs runs"
printf '%-12s %-8s %-7s %10s %10s %12s\n' folder threads images img/s wall_s peak_MB
for entry in "${folders[@]}"; do
    folder="${entry%%|*}"; support="${entry#*|}"
    n=$(ls "$work/$folder" | wc -l)
    for threads in 1 2; do
        rates=(); walls=(); mems=()
        for ((r = 0; r < runs; r++)); do
            /usr/bin/time -f "%e %M" -o "$work/time" "$diffss" segment --support "$support" --queries "$work/$folder" \
                --out "$work/out" --overwrite --quiet --threads "$threads" >/dev/null
            rates+=("$($python -c "import json,sys; print(json.load(open(sys.argv[1]))['run']['images_per_second'])" "$work/out/results.json")")
            read -r wall mem < "$work/time"
            walls+=("$wall"); mems+=("$mem")
        done
        printf '%-12s %-8s %-7s %10.2f %10.2f %12.0f\n' "$folder" "$threads" "$n" \
            "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${walls[@]}" | median)" \
            "$(printf '%s\n' "${mems[@]}" | median | awk '{print $1 / 1024}')"
    done
done

if ! $python -c "import torch" 2>/dev/null; then
    echo "== TorchScript comparison skipped: python3-torch is not installed"
    exit 0
fi
echo "== TorchScript: diffss segment vs a Python loop (same model, images, threads), whole process, median of $runs runs"
$python "$here/torchscript_models.py" export "$work/bench.pt" >/dev/null 2>&1
mask="${gen_support%.jpg}.png"
printf '%-8s %12s %12s %18s\n' threads diffss_s python_s python/diffss
for threads in 1 2; do
    ours=(); theirs=()
    for ((r = 0; r < runs; r++)); do
        /usr/bin/time -f "%e" -o "$work/t1" "$diffss" segment --backend torchscript --model "$work/bench.pt" --support "$gen_support" \
            --mask "$mask" --queries "$work/gen-queries" --out "$work/ts-out" --overwrite --quiet --threads "$threads" >/dev/null
        /usr/bin/time -f "%e" -o "$work/t2" $python "$here/torchscript_models.py" loop "$work/bench.pt" "$gen_support" "$mask" \
            "$work/gen-queries" "$work/py-out" --threads "$threads" >/dev/null
        ours+=("$(cat "$work/t1")"); theirs+=("$(cat "$work/t2")")
    done
    a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
    printf '%-8s %12.2f %12.2f %18.2f\n' "$threads" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')"
done
