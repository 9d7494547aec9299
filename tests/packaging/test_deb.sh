#!/usr/bin/env bash
# Builds the .deb from a configured, built tree, checks what it declares and
# holds, unpacks it into a staging root and runs the installed `diffss info`.
set -euo pipefail
build=${1:?usage: test_deb.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log"
    echo "FAIL: cpack could not build the package"
    exit 1
fi
deb=$(ls "$work"/out/*.deb)
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libtorch libopencv-imgcodecs libqt6widgets6 libqcustomplot2.1-qt6; do
    grep -q "$lib" <<<"$depends" || { echo "FAIL: Depends lacks $lib"; exit 1; }
done

contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/diffss ./usr/bin/diffss-studio ./usr/share/applications/diffss-studio.desktop \
         ./usr/share/icons/hicolor/scalable/apps/diffss-studio.svg ./usr/share/metainfo/io.github.diffss.studio.metainfo.xml; do
    grep -q " $f\$" <<<"$contents" || { echo "FAIL: package lacks $f"; exit 1; }
done

dpkg -x "$deb" "$work/root"
out=$("$work/root/usr/bin/diffss" info)
echo "$out"
grep -q "DifFSS Studio" <<<"$out" || { echo "FAIL: installed diffss info printed no version"; exit 1; }
grep -q "^Exec=diffss-studio" "$work/root/usr/share/applications/diffss-studio.desktop"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$work/root/usr/share/applications/diffss-studio.desktop"
fi
echo "package test passed"
