#!/usr/bin/env bash
# A large folder of small images through `diffss segment` (the built-in
# backend): images per second and peak resident memory for folders of
# growing size, to show that memory stays flat however many queries there are.
#   tests/benchmarks/bench_large_folder.sh [BUILD_DIR] [SIZE] [COUNTS...]
#   (defaults: build, 64x64, 250 1000)
# With SHARDS=N (N > 1) the largest folder is then also segmented as N
# shards (`--shard I/N`, all at once, each reading one support-set file) and
# merged: each shard's rate and peak memory, the wall time until the last
# one ends, and the merge's time. All shards run on this one machine.
# Whole processes timed with GNU time; the rate is the run's own figure in
# results.json (model preparation excluded). Two threads, as on CI machines.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
size="${2:-64x64}"
shift $(( $# > 2 ? 2 : $# ))
counts=("${@:-250 1000}")
[ ${#counts[@]} -eq 1 ] && read -r -a counts <<< "${counts[0]}"
diffss="$build/app/diffss"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

max=0
for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
per_class=$(( (max + 2) / 3 ))
"$diffss" demo --out "$work/gen" --images "$per_class" --size "$size" >/dev/null
mkdir -p "$work/all"
for c in "$work"/gen/*/; do for f in "$c"*.jpg; do cp "$f" "$work/all/$(basename "$c")_$(basename "$f")"; done; done
support="$work/gen/spotted_ball/1.jpg"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
printf '%-8s %-8s %10s %10s %10s %12s\n' images size img/s wall_s cpu_s peak_MB
for n in "${counts[@]}"; do
    rm -rf "$work/q" "$work/out"
    mkdir -p "$work/q"
    ls "$work/all" | head -n "$n" | while read -r f; do ln "$work/all/$f" "$work/q/$f"; done
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$diffss" segment --support "$support" --queries "$work/q" \
        --out "$work/out" --quiet --threads 2 >/dev/null
    read -r wall user sys rss < "$work/time"
    rate=$(grep -m1 '"images_per_second"' "$work/out/results.json" | tr -dc '0-9.')
    awk -v n="$n" -v s="$size" -v r="$rate" -v w="$wall" -v u="$user" -v k="$sys" -v m="$rss" \
        'BEGIN { printf "%-8s %-8s %10.2f %10.1f %10.1f %12.1f\n", n, s, r, w, u + k, m / 1024 }'
done

shards="${SHARDS:-1}"
if [ "$shards" -gt 1 ]; then
    n=$max
    rm -rf "$work/q" "$work/out" "$work"/shard*
    mkdir -p "$work/q"
    ls "$work/all" | head -n "$n" | while read -r f; do ln "$work/all/$f" "$work/q/$f"; done
    "$diffss" segment --support "$support" --save-support-set "$work/set.dss.json" 2>/dev/null
    echo "$n images as $shards shards run at once on this machine (--threads 2 each), load average now: $(cut -d" " -f1-3 /proc/loadavg)"
    printf '%-8s %-8s %10s %10s %10s %12s\n' shard images img/s wall_s cpu_s peak_MB
    start=$(date +%s.%N)
    for ((i = 0; i < shards; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$work/time$i" "$diffss" segment --support-set "$work/set.dss.json" --queries "$work/q" \
            --out "$work/shard$i" --shard "$i/$shards" --quiet --threads 2 >/dev/null &
    done
    wait
    end=$(date +%s.%N)
    for ((i = 0; i < shards; i++)); do
        read -r wall user sys rss < "$work/time$i"
        rate=$(grep -m1 '"images_per_second"' "$work/shard$i/results.json" | tr -dc '0-9.')
        count=$(grep -c '"query":' "$work/shard$i/results.json")
        awk -v s="$i/$shards" -v n="$count" -v r="$rate" -v w="$wall" -v u="$user" -v k="$sys" -v m="$rss" \
            'BEGIN { printf "%-8s %-8s %10.2f %10.1f %10.1f %12.1f\n", s, n, r, w, u + k, m / 1024 }'
    done
    dirs=()
    for ((i = 0; i < shards; i++)); do dirs+=("$work/shard$i"); done
    /usr/bin/time -f '%e %M' -o "$work/time_merge" "$diffss" merge --out "$work/merged" --quiet "${dirs[@]}" >/dev/null
    read -r mwall mrss < "$work/time_merge"
    awk -v n="$n" -v a="$start" -v b="$end" -v mw="$mwall" -v mm="$mrss" \
        'BEGIN { printf "all shards: %d images in %.1f s wall = %.2f img/s; merge %.1f s, peak %.1f MB\n", n, b - a, n / (b - a), mw, mm / 1024 }'
fi
