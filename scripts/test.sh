#!/usr/bin/env bash
# Installs what the build and the tests need (Debian packages, when missing), builds, and runs
# the whole suite twice: a normal build, then an ASan+UBSan build; then a short fuzzing run.
# Usage: scripts/test.sh            (from anywhere; builds in <repo>/build and <repo>/build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test

echo "== formatting (.clang-format)"
clang-format --dry-run -Werror src/*.[ch] hooks/*.[ch] include/*.h tests/unit/*.[ch] \
	tests/preload/*.c tests/fuzz/*.c bench/*.c tests/pq/*.c tests/redis/*.c tools/*.[ch]

echo "== build (debugoptimized)"
[ -d build ] || meson setup build
ninja -C build
echo "== tests"
meson test -C build --print-errorlogs

echo "== build (ASan + UBSan)"
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --suite unit --suite preload --suite abi

echo "== fuzzing (short run)"
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=enabled
ninja -C build-fuzz
meson test -C build-fuzz --print-errorlogs --suite fuzz

# The viewer's HTML page as headless Chromium rendered it (tests/tools/test_view.py).
shot=build/tools/view-screenshot.png
if [ -s "$shot" ]; then
	echo "== viewer screenshot: $PWD/$shot ($(stat -c %s "$shot") bytes, $(/usr/bin/python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d PNG" % struct.unpack(">II", d[16:24]))' "$shot"))"
fi

# One closing line over the three runs (each Check executable and Python file is one test;
# their own counts are in build*/meson-logs/testlog.txt).
/usr/bin/python3 - <<'PY'
import json
passed = failed = 0
for d in ("build", "build-asan", "build-fuzz"):
    with open(f"{d}/meson-logs/testlog.json") as f:
        for line in f:
            r = json.loads(line)["result"]
            if r == "OK":
                passed += 1
            elif r != "SKIP":
                failed += 1
print(f"{passed} passed, {failed} failed")
PY
