#!/usr/bin/env bash
# Installs what the build and the tests need (Debian packages, when missing), builds, and runs
# the whole suite twice: a normal build, then an ASan+UBSan build; then a short fuzzing run.
# Usage: scripts/test.sh            (from anywhere; builds in <repo>/build and <repo>/build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build pkg-config gcc clang clang-format libclang-rt-14-dev protobuf-c-compiler
	libprotobuf-c-dev protobuf-compiler python3 python3-protobuf libcurl4-openssl-dev zlib1g-dev
	check libunwind-dev valgrind curl nginx nodejs)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing: ${missing[*]}"
	sudo_cmd=""
	[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
	$sudo_cmd apt-get update -qq
	# Installing nginx must not start the distribution's server on port 80: the tests start
	# their own on 127.0.0.1. policy-rc.d (exit 101) tells the maintainer scripts not to.
	policy=/usr/sbin/policy-rc.d
	made_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
		$sudo_cmd chmod 755 "$policy"
		made_policy=1
		trap '$sudo_cmd rm -f "$policy"' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
	[ -z "$made_policy" ] || $sudo_cmd rm -f "$policy"
fi

echo "== formatting (.clang-format)"
clang-format --dry-run -Werror src/*.[ch] hooks/*.[ch] include/*.h tests/unit/*.[ch] \
	tests/preload/*.c tests/fuzz/*.c bench/*.c

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
