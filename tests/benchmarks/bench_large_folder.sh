#!/usr/bin/env bash
# A large folder of small images through `diffss segment` (the built-in
# backend): images per second and peak resident memory for folders of
# growing size, to show that memory stays flat however many queries there are.
#   tests/benchmarks/bench_large_folder.sh [BUILD_DIR] [SIZE] [COUNTS...]
#   (defaults: build, 64x64, 250 1000)
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
