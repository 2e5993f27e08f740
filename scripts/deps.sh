#!/usr/bin/env bash
# Installs the Debian packages a task needs, when missing (apt-get; sudo when not root).
# Usage: scripts/deps.sh demo|test
#   demo: build the library and the otel-preload tool, run scripts/demo.sh
#   test: everything scripts/test.sh needs (adds clang, valgrind, nginx, Node, Chromium...)
set -euo pipefail

build=(meson ninja-build pkg-config gcc protobuf-c-compiler libprotobuf-c-dev
	libcurl4-openssl-dev zlib1g-dev libunwind-dev libpq-dev libhiredis-dev libjson-c-dev check
	python3 curl)
demo=(postgresql python3-psycopg2 redis-server)
test=(clang clang-format libclang-rt-14-dev protobuf-compiler python3-protobuf valgrind nginx
	nodejs postgresql-contrib libevent-dev chromium)

case "${1:-}" in
demo) packages=("${build[@]}" "${demo[@]}") ;;
test) packages=("${build[@]}" "${demo[@]}" "${test[@]}") ;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

echo "== installing: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
# Installing nginx, PostgreSQL or Redis must not start the distribution's servers: the tests
# and the demo start their own on 127.0.0.1. policy-rc.d (exit 101) tells the maintainer
# scripts not to.
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
