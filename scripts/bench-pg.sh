#!/usr/bin/env bash
# PostgreSQL benchmark of the preload: pgbench select-only (one SELECT per transaction, simple
# protocol, asynchronous libpq) against a throw-away server (scripts/pg.sh), in three variants
# run in interleaved rounds (which one goes first rotates):
#   without   no LD_PRELOAD
#   otlp      LD_PRELOAD, spans exported over OTLP/HTTP to a local sink answering 200 (it keeps
#             the bodies and counts their spans between measurements only)
#   none      LD_PRELOAD with OTEL_TRACES_EXPORTER=none (spans made, not exported)
# Each measurement: pgbench -n -S -c 4 -j 2 -T 10 (the server's data from pgbench -i -s 10),
# after one warm-up run of 20 s. The server logs no statement meanwhile (log_statement=none).
# Prints each round's TPS and latency, then medians, the ratio of median TPS against
# "without", and the time added per query: the difference of pgbench's "latency average"
# (one query per transaction with -S; each client waits for its query, so this is the added
# latency per query), and the same from throughput (clients/TPS).
#
# Usage: scripts/bench-pg.sh [--quick] [--rounds N] [--keep]
#   --quick      a smoke run: scale 2, -T 3, 2 s of warm-up, 1 round (numbers only indicative)
#   --rounds N   interleaved rounds (default 3; --quick: 1)
#   --keep       keep the work directory (server log, pgbench outputs, preload log)
# Environment: OTELP_LIB (the preload; default build/hooks/libotelpreload.so, which must be
# built; the OTLP sink is bench/otlp-sink of the same build directory, else compiled here with
# cc, needing zlib1g-dev), PG_BINDIR (see scripts/pg.sh). Installs nothing: needs PostgreSQL's
# server and pgbench (Debian: postgresql, postgresql-contrib) and /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

quick=0
rounds=""
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--rounds)
		rounds=${2:?--rounds needs a number}
		shift
		;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench-pg: unknown argument: $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
if [ "$quick" -eq 1 ]; then
	: "${rounds:=1}"
	scale=2 secs=3 warm=2
else
	: "${rounds:=3}"
	scale=10 secs=10 warm=20
fi
case "$rounds" in '' | *[!0-9]* | 0)
	echo "bench-pg: --rounds must be a positive integer" >&2
	exit 2
	;;
esac
clients=4 threads=2

say() { printf '== %s\n' "$*"; }
fail() {
	printf 'bench-pg: %s\n' "$*" >&2
	exit 1
}

lib=${OTELP_LIB:-$repo/build/hooks/libotelpreload.so}
[ -f "$lib" ] || fail "no preload library at $lib (build it: meson setup build && ninja -C build," \
	"or set OTELP_LIB)"
lib=$(cd "$(dirname "$lib")" && pwd -P)/$(basename "$lib")
command -v pgbench >/dev/null 2>&1 || fail "pgbench not found (Debian: postgresql-contrib)"
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 not found"

# ---- work directory, processes, cleanup ----------------------------------------------------

work=$(mktemp -d --tmpdir --suffix=.otelp-bench-pg)
chmod 755 "$work"
pgdir=$work/pg
sink_pid=""
pg_started=0

cleanup() {
	local _
	if [ -n "$sink_pid" ]; then
		kill "$sink_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$sink_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$sink_pid" 2>/dev/null || true
		wait "$sink_pid" 2>/dev/null || true
	fi
	if [ "$pg_started" -eq 1 ]; then
		scripts/pg.sh stop "$pgdir" >/dev/null || echo "bench-pg: stopping the server failed" >&2
	fi
	if [ "$keep" -eq 1 ]; then
		echo "bench-pg: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- PostgreSQL ---------------------------------------------------------------------------------

say "PostgreSQL: scripts/pg.sh start $pgdir"
pg_started=1
scripts/pg.sh start "$pgdir"
# shellcheck disable=SC1091 # written by scripts/pg.sh
. "$pgdir/env"
export PGHOST PGPORT PGUSER PGDATABASE
# Every statement in the server's log would cost the server more than the preload costs the
# client: log nothing during the measurements.
psql -X -q -c "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
say "pgbench -i -s $scale"
pgbench -i -s "$scale" -q >"$work/init.out" 2>&1 || fail "pgbench -i failed: $(cat "$work/init.out")"
psql -X -q -c "VACUUM ANALYZE" >/dev/null

# ---- OTLP sink (bench/otlp-sink.c) --------------------------------------------------------------
# The sink: bench/otlp-sink from the library's build directory, else compiled here.
sink=$(dirname "$lib")/../bench/otlp-sink
if [ ! -x "$sink" ]; then
	sink=$work/otlp-sink
	cc -std=gnu11 -O2 -g -Wall -Wextra "$repo/bench/otlp-sink.c" -o "$sink" -lz ||
		fail "cannot build bench/otlp-sink.c (zlib1g-dev installed?)"
fi
"$sink" "$work/sink.port" 2>"$work/sink.err" &
sink_pid=$!
for _ in $(seq 100); do
	[ -s "$work/sink.port" ] && break
	kill -0 "$sink_pid" 2>/dev/null || fail "the sink did not start: $(cat "$work/sink.err")"
	sleep 0.05
done
sink_port=$(head -1 "$work/sink.port")
[ -n "$sink_port" ] || fail "the sink did not start"
sink_stats() {
	/usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1], timeout=60).read().decode())' \
		"$sink_port"
}

# ---- measurements -------------------------------------------------------------------------------

results=$work/results.tsv
: >"$results"
variants=(without otlp none)

run_variant() { # run_variant VARIANT ROUND: one pgbench run, one line in $results
	local v=$1 r=$2 out=$work/pgbench-$1-$2.out
	local envs=(env -u LD_PRELOAD)
	case $v in
	otlp)
		envs+=(LD_PRELOAD="$lib" OTEL_SERVICE_NAME=bench-pgbench
			OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port"
			OTEL_PRELOAD_LOG_FILE="$work/otelpreload.log")
		;;
	none)
		envs+=(LD_PRELOAD="$lib" OTEL_SERVICE_NAME=bench-pgbench OTEL_TRACES_EXPORTER=none
			OTEL_PRELOAD_LOG_FILE="$work/otelpreload.log")
		;;
	esac
	if ! "${envs[@]}" pgbench -n -S -c "$clients" -j "$threads" -T "$secs" >"$out" 2>&1; then
		fail "pgbench ($v, round $r) failed: $(tail -5 "$out")"
	fi
	local tps lat tx spans=""
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$out")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*$/\1/p' "$out")
	if [ -z "$tps" ] || [ -z "$lat" ]; then
		fail "cannot read pgbench's output: $out"
	fi
	if [ "$v" = otlp ]; then
		sleep 1 # the preload exported its last batch at exit; let the sink take it in
		spans=$(sink_stats | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["spans_total"])')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$r" "$tps" "$lat" "$tx" "$spans" >>"$results"
	printf '   round %s %-8s tps %10s  latency avg %7s ms  transactions %8s%s\n' "$r" "$v" \
		"$tps" "$lat" "$tx" "${spans:+  spans received $spans}"
}

say "pgbench -n -S -c $clients -j $threads -T $secs: $rounds interleaved round(s) of" \
	"${variants[*]} (preload $lib, sink 127.0.0.1:$sink_port)"
# Warm-up (server caches, CPU frequency): throughput was seen to climb for tens of seconds.
pgbench -n -S -c "$clients" -j "$threads" -T "$warm" >/dev/null 2>&1 || true
for r in $(seq "$rounds"); do
	n=${#variants[@]}
	for i in $(seq 0 $((n - 1))); do
		run_variant "${variants[$(((i + r - 1) % n))]}" "$r"
	done
done

# ---- report -------------------------------------------------------------------------------------

drops=$(grep -ci 'dropped' "$work/otelpreload.log" 2>/dev/null || true)
rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo "not a git tree")
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
about="library $lib ($rev); pgbench $(pgbench --version | sed 's/^pgbench (PostgreSQL) //'), scale $scale;"
about="$about $(nproc) x ${cpu:-unknown CPU}, Linux $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC')"
/usr/bin/python3 - "$results" "$clients" "$about" "${drops:-0}" <<'PY'
import statistics
import sys

path, clients, about, drops = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = {}
for line in open(path):
    v, r, tps, lat, tx, spans = line.rstrip('\n').split('\t')
    rows.setdefault(v, {})[int(r)] = (float(tps), float(lat), int(tx or 0),
                                      int(spans) if spans else None)
base = rows.get('without', {})
print()
print('## PostgreSQL: pgbench -S (%d round(s), medians)' % len(base))
print()
print(about)
print()
print('| variant | TPS | latency avg (ms) | TPS ratio | TPS ratio, per round '
      '| added per query, latency (us) | added per query, from TPS (us) '
      '| spans / transactions |')
print('|---|---|---|---|---|---|---|---|')
mt0 = statistics.median(t for t, _, _, _ in base.values())
ml0 = statistics.median(l for _, l, _, _ in base.values())
for v in ('without', 'otlp', 'none'):
    d = rows.get(v)
    if not d:
        continue
    mt = statistics.median(t for t, _, _, _ in d.values())
    ml = statistics.median(l for _, l, _, _ in d.values())
    if v == 'without':
        ratio = paired = added_lat = added_tps = '-'
    else:
        ratio = 'x%.3f' % (mt / mt0)
        pairs = [d[r][0] / base[r][0] for r in sorted(d) if r in base]
        paired = 'x%.3f (%s)' % (statistics.median(pairs), ' '.join('%.3f' % x for x in pairs))
        added_lat = '%+.1f' % ((ml - ml0) * 1000)
        added_tps = '%+.1f' % ((clients / mt - clients / mt0) * 1e6)
    spans = [(s, tx) for _, _, tx, s in d.values() if s is not None]
    cover = ', '.join('%d / %d' % st for st in spans) if spans else '-'
    print('| %s | %.0f | %.3f | %s | %s | %s | %s | %s |' % (v, mt, ml, ratio, paired,
                                                            added_lat, added_tps, cover))
print()
print('TPS ratio: median TPS / median TPS without the preload; per round: the median of the '
      'ratios to the same round\'s run without it (each listed). Added per query: median '
      'latency average minus the one without (pgbench -S: one query per transaction), and '
      '%d clients / TPS minus the same without. otlp: spans received by the sink against '
      'transactions processed (pgbench also runs a few queries of its own per client). '
      'The server shares the machine\'s CPUs with pgbench: differences of a few percent are '
      'noise unless they hold over many rounds.' % clients)
if drops:
    print()
    print('The preload logged %d line(s) about dropped spans (queue full): the otlp variant '
          'then exported fewer spans than it made.' % drops)
PY
