#!/bin/sh
# The preload library must export exactly the symbols listed in hooks/otelpreload.map: no
# internal otelp__ name, none of libcurl/protobuf-c/zlib (a host may carry its own copies).
set -eu
lib=$1
map=$2
want=$(sed -n 's/^ *\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$map" | grep -v '^local$' | sort -u)
have=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^$' | sort -u)
if [ "$want" != "$have" ]; then
	echo "exported symbols differ from $map:"
	printf '%s\n' "$want" >/tmp/otelp-want.$$
	printf '%s\n' "$have" >/tmp/otelp-have.$$
	diff /tmp/otelp-want.$$ /tmp/otelp-have.$$ || true
	rm -f /tmp/otelp-want.$$ /tmp/otelp-have.$$
	exit 1
fi
echo "exports ok: $(printf '%s\n' "$have" | wc -l) symbols"
