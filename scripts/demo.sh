#!/usr/bin/env bash
# README command one: on a fresh Debian machine, installs what it needs, builds, starts a
# small system of unmodified programs on 127.0.0.1 and traces a few requests through it with
# otel-preload, no collector needed:
#
#   curl ──▶ frontend (Python, urllib) ──▶ backend (Python) ──▶ PostgreSQL (psycopg2 → libpq)
#                                                      └──────▶ Redis (hiredis via ctypes)
#
# Then prints the waterfall of the traces and writes them as an HTML page
# (otel-preload-demo.html in the current directory), and stops everything it started.
# Usage: scripts/demo.sh [--keep]    (--keep: leave the work directory with traces.jsonl)
# For tests: OTELP_DEMO_BUILD=DIR uses an existing build (no install, no build step) and
# OTELP_DEMO_TRACES=FILE gets a copy of the traces.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$(pwd)
keep=""
[ "${1:-}" != "--keep" ] || keep=1

if [ -n "${OTELP_DEMO_BUILD:-}" ]; then
	tool="$OTELP_DEMO_BUILD/tools/otel-preload"
else
	"$repo/scripts/deps.sh" demo
	echo "== building (build-demo/)"
	[ -d "$repo/build-demo" ] || meson setup "$repo/build-demo" "$repo" -Dtests=disabled >/dev/null
	ninja -C "$repo/build-demo" >/dev/null
	tool="$repo/build-demo/tools/otel-preload"
fi

work=$(mktemp -d --tmpdir --suffix=.otel-preload-demo)
chmod 755 "$work"
traces="$work/traces.jsonl"
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	"$repo/scripts/redis.sh" stop "$work/redis" >/dev/null 2>&1 || true
	"$repo/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
	if [ -n "$keep" ]; then
		echo "== kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 100); do
		if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo: nothing listens on port $1" >&2
	return 1
}

echo "== starting PostgreSQL and Redis (untraced) in $work"
"$repo/scripts/pg.sh" start "$work/pg" >/dev/null
"$repo/scripts/redis.sh" start "$work/redis" >/dev/null
set -a # the env files hold plain assignments: export them (psql reads PGHOST...)
# shellcheck disable=SC1091
. "$work/pg/env"
# shellcheck disable=SC1091
. "$work/redis/env"
set +a
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL, quantity int NOT NULL);
INSERT INTO orders VALUES (1, 'teapot', 2), (2, 'cups', 6), (3, 'saucers', 6);
SQL
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"

bport=$(free_port)
fport=$(free_port)
echo "== starting backend (:$bport) and frontend (:$fport) under otel-preload"
"$tool" --service-name backend --file "$traces" --no-view -- \
	/usr/bin/python3 "$repo/scripts/demo/backend.py" "$bport" "$dsn" "$REDIS_PORT" &
pids+=($!)
"$tool" --service-name frontend --file "$traces" --no-view -- \
	/usr/bin/python3 "$repo/scripts/demo/frontend.py" "$fport" "$bport" &
pids+=($!)
wait_port "$bport"
wait_port "$fport"

echo "== four requests with curl, also under otel-preload"
for id in 1 1 2 x; do
	printf '   GET /checkout/%s -> ' "$id"
	"$tool" --service-name shop-client --file "$traces" --no-view -- \
		curl -s "http://127.0.0.1:$fport/checkout/$id"
	echo
done

# SIGTERM: the services flush their last spans and exit.
for p in "${pids[@]}"; do
	kill -TERM "$p" 2>/dev/null || true
done
for p in "${pids[@]}"; do
	wait "$p" 2>/dev/null || true
done
pids=()

[ -z "${OTELP_DEMO_TRACES:-}" ] || cp "$traces" "$OTELP_DEMO_TRACES"
echo "== the traces (otel-preload view)"
"$tool" view "$traces" --color=auto
html="$out_dir/otel-preload-demo.html"
"$tool" view "$traces" --html "$html" >/dev/null
echo "== wrote $html (open it in a browser: click a span for its attributes)"
