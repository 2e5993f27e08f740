#!/usr/bin/env bash
# Redis (hiredis) benchmark of the preload: what a traced GET costs.
#
# bench/redis-get.c against a private redis-server (scripts/redis.sh, 127.0.0.1 TCP):
# N GETs synchronous (redisCommand each) then N pipelined (batches of 100 redisAppendCommand +
# 100 redisGetReply), timed inside the program (CLOCK_MONOTONIC), in these variants:
#   without    no LD_PRELOAD
#   otlp       LD_PRELOAD, spans exported over OTLP/HTTP to a local sink that answers 200
#   none       LD_PRELOAD, OTEL_TRACES_EXPORTER=none (spans made, not exported)
#   disabled   LD_PRELOAD, OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=hiredis (loaded, not tracing)
# Rounds are interleaved (the order of the variants rotates each round); the table gives the
# medians over the rounds, the throughput ratio (with / without) and the ns added per command
# as medians of the per-round values. This VM is noisy: the callgrind part counts exact
# instructions per command instead, marginal over two counts (I(N2) - I(N1)) / (N2 - N1), so
# that start-up and exit are left out (exporting at exit is included in both).
#
# Usage: scripts/bench-redis.sh [--rounds N] [--count N] [--quick] [--skip LIST] [--keep]
#   --rounds N   interleaved rounds (default 5; --quick: 2)
#   --count N    GETs per mode and run (default 100000; --quick: 20000)
#   --skip LIST  comma-separated: timing,callgrind,otlp,none,disabled
#   --keep       keep the work directory (logs, callgrind files, raw results)
# Environment: OTELP_LIB (default build/hooks/libotelpreload.so; the OTLP sink is
# bench/otlp-sink of the same build directory, else compiled here with cc, needing
# zlib1g-dev), OTELP_REDIS_GET (a built bench/redis-get; default: compiled here with cc, needs
# libhiredis-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

rounds=""
count=""
quick=0
skip=","
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds)
		rounds=${2:?--rounds needs a number}
		shift
		;;
	--count)
		count=${2:?--count needs a number}
		shift
		;;
	--quick) quick=1 ;;
	--skip)
		skip=",${2:?--skip needs a list},"
		shift
		;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench-redis: unknown argument: $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
if [ "$quick" -eq 1 ]; then
	: "${rounds:=2}" "${count:=20000}"
	cg_n1=2000 cg_n2=6000
else
	: "${rounds:=5}" "${count:=100000}"
	cg_n1=5000 cg_n2=20000
fi
for v in "$rounds" "$count"; do
	case "$v" in '' | *[!0-9]* | 0)
		echo "bench-redis: --rounds and --count take positive integers" >&2
		exit 2
		;;
	esac
done
want() { [[ "$skip" != *",$1,"* ]]; }

say() { printf '== %s\n' "$*"; }
fail() {
	printf 'bench-redis: %s\n' "$*" >&2
	exit 1
}

lib=${OTELP_LIB:-$repo/build/hooks/libotelpreload.so}
[ -f "$lib" ] || fail "no preload library at $lib (build it, or set OTELP_LIB)"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] ||
	fail "redis-server is not installed (Debian package redis-server)"
if want callgrind; then
	command -v valgrind >/dev/null 2>&1 || fail "valgrind is not installed (or --skip callgrind)"
fi

variants=(without)
for v in otlp none disabled; do
	want "$v" && variants+=("$v")
done

# ---- work directory, processes, cleanup -----------------------------------------------------

work=$(mktemp -d --tmpdir --suffix=.otelp-bench-redis)
results=$work/results.tsv
: >"$results"
sink_pid=""
redis_dir=$work/redis

cleanup() {
	if [ -n "$sink_pid" ]; then
		kill "$sink_pid" 2>/dev/null || true
		wait "$sink_pid" 2>/dev/null || true
	fi
	if [ -f "$redis_dir/env" ]; then
		"$repo/scripts/redis.sh" stop "$redis_dir" >/dev/null || true
	fi
	if [ "$keep" -eq 1 ]; then
		echo "bench-redis: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- client ---------------------------------------------------------------------------------

if [ -n "${OTELP_REDIS_GET:-}" ]; then
	client=$OTELP_REDIS_GET
else
	client=$work/redis-get
	cc -std=gnu11 -O2 -g -Wall -Wextra -I"$repo/include" "$repo/bench/redis-get.c" -o "$client" \
		-lhiredis || fail "cannot build bench/redis-get.c (libhiredis-dev installed?)"
fi

# ---- redis-server and the OTLP sink ---------------------------------------------------------

say "redis-server: $("$repo/scripts/redis.sh" start "$redis_dir")"
# shellcheck disable=SC1091
. "$redis_dir/env"

# The sink: bench/otlp-sink from the library's build directory, else compiled here.
sink=$(dirname "$lib")/../bench/otlp-sink
if [ ! -x "$sink" ]; then
	sink=$work/otlp-sink
	cc -std=gnu11 -O2 -g -Wall -Wextra "$repo/bench/otlp-sink.c" -o "$sink" -lz ||
		fail "cannot build bench/otlp-sink.c (zlib1g-dev installed?)"
fi
env -u LD_PRELOAD "$sink" "$work/sink.port" >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do
	[ -s "$work/sink.port" ] && break
	kill -0 "$sink_pid" 2>/dev/null || fail "the sink did not start: $(cat "$work/sink.log")"
	sleep 0.05
done
sink_port=$(cat "$work/sink.port")
[ -n "$sink_port" ] || fail "the sink did not start"
sink_stats() { # sink_stats: {"requests": .., "spans_total": .., "undecodable": ..} since the last call
	/usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1], timeout=30).read().decode())' \
		"$sink_port"
}

# run_variant VARIANT CMD...: CMD in the variant's environment
run_variant() {
	local v=$1
	shift
	local e=(env -u LD_PRELOAD -u OTEL_TRACES_EXPORTER -u OTEL_EXPORTER_OTLP_ENDPOINT
		-u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -u OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS
		-u OTEL_PRELOAD_ENABLED_INSTRUMENTATIONS -u OTEL_SDK_DISABLED
		"OTEL_SERVICE_NAME=bench-redis-$v")
	case "$v" in
	without) ;;
	otlp) e+=("LD_PRELOAD=$lib" "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port") ;;
	none) e+=("LD_PRELOAD=$lib" OTEL_TRACES_EXPORTER=none) ;;
	disabled)
		e+=("LD_PRELOAD=$lib" "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port"
			OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=hiredis)
		;;
	esac
	"${e[@]}" "$@"
}

kv() { # kv KEY LINE
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && {
			echo "${w#*=}"
			return
		}
	done
	echo ""
}

about="library $lib; $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
about="$about, Linux $(uname -r); redis-server $(redis-server --version | awk '{print $3}')"
about="$about; $(date -u '+%Y-%m-%d %H:%M UTC')"

# ---- timing ---------------------------------------------------------------------------------

sink_stats >/dev/null
if want timing; then
	say "timing: $rounds rounds x ${#variants[@]} variants, $count GETs sync + $count pipelined"
	for r in $(seq "$rounds"); do
		n=${#variants[@]}
		for k in $(seq 0 $((n - 1))); do
			v=${variants[$(((k + r) % n))]}
			out=$(run_variant "$v" "$client" --port "$REDIS_PORT" --count "$count" \
				--mode both 2>"$work/client.err") ||
				fail "redis-get ($v) failed: $(cat "$work/client.err")"
			[ ! -s "$work/client.err" ] || {
				echo "   ($v stderr: $(head -c 300 "$work/client.err"))"
			}
			while read -r line; do
				mode=$(kv mode "$line")
				ns=$(kv ns_per_cmd "$line")
				cpu=$(kv cpu_ns_per_cmd "$line")
				printf '%s\t%s\t%s\t%s\n' timing "$mode" "$v" "$r ns=$ns cpu=$cpu" >>"$results"
			done <<<"$out"
			sl=$(grep mode=sync <<<"$out")
			pl=$(grep mode=pipeline <<<"$out")
			printf '   round %d %-8s sync %8s ns/GET (CPU %7s)   pipelined %7s ns/GET (CPU %6s)\n' \
				"$r" "$v" "$(kv ns_per_cmd "$sl")" "$(kv cpu_ns_per_cmd "$sl")" \
				"$(kv ns_per_cmd "$pl")" "$(kv cpu_ns_per_cmd "$pl")"
			if [ "$v" = otlp ] || [ "$v" = disabled ]; then
				sleep 0.3 # the last batch arrives after exit
				printf '%s\t%s\t%s\t%s\n' sink timing "$v" "$(sink_stats)" >>"$results"
			fi
		done
	done
fi

# ---- callgrind ------------------------------------------------------------------------------

if want callgrind; then
	say "callgrind: instructions per GET, marginal over $cg_n1..$cg_n2 GETs"
	mkdir -p "$work/callgrind"
	for mode in sync pipeline; do
		for v in "${variants[@]}"; do
			for n in "$cg_n1" "$cg_n2"; do
				f=$work/callgrind/$mode-$v-$n
				# The exporter on full batches and at exit only (no timer): counts do not
				# depend on how slowly the program runs under valgrind.
				run_variant "$v" env OTEL_BSP_SCHEDULE_DELAY=600000 \
					valgrind --tool=callgrind --callgrind-out-file="$f.%p" "$client" \
					--port "$REDIS_PORT" --count "$n" --mode "$mode" --warmup 100 \
					>"$f.out" 2>"$f.log" || fail "callgrind $mode $v $n failed: see $f.log"
				total=0
				for p in "$f".[0-9]*; do
					c=$(awk '/^summary:/ {print $2; exit}' "$p")
					total=$((total + ${c:-0}))
				done
				printf '%s\t%s\t%s\t%s\n' callgrind "$mode" "$v" "$n ir=$total" >>"$results"
				printf '   %-8s %-8s %6d GETs: %s instructions\n' "$mode" "$v" "$n" "$total"
			done
			if [ "$v" = otlp ]; then
				sleep 0.3
				printf '%s\t%s\t%s\t%s\n' sink "callgrind-$mode" "$v" "$(sink_stats)" >>"$results"
			fi
		done
	done
fi

# ---- summary --------------------------------------------------------------------------------

/usr/bin/python3 - "$results" "$rounds" "$count" "$cg_n1" "$cg_n2" "$about" <<'PY'
import json
import statistics
import sys

path, rounds, count, n1, n2, about = sys.argv[1:7]
rounds, count, n1, n2 = int(rounds), int(count), int(n1), int(n2)
timing = {}    # (mode, variant) -> {round: ns}
cg = {}        # (mode, variant) -> {n: ir}
sink = []
for line in open(path):
    part, a, v, data = line.rstrip('\n').split('\t', 3)
    if part == 'sink':
        sink.append((a, v, json.loads(data)))
        continue
    first, kvs = data.split(' ', 1)
    kv = dict(w.split('=', 1) for w in kvs.split())
    if part == 'timing':
        timing.setdefault((a, v, 'ns'), {})[int(first)] = float(kv['ns'])
        if kv.get('cpu'):
            timing.setdefault((a, v, 'cpu'), {})[int(first)] = float(kv['cpu'])
    else:
        cg.setdefault((a, v), {})[int(first)] = int(kv['ir'])

variants = [v for v in ('without', 'otlp', 'none', 'disabled')
            if any(k[1] == v for k in list(timing) + list(cg))]
labels = {'without': 'without', 'otlp': 'with, OTLP export', 'none': 'with, exporter none',
          'disabled': 'with, hiredis disabled'}


def q(vals):
    vals = sorted(vals)
    if len(vals) < 2:
        return vals[0], vals[0], vals[0]
    a, m, b = statistics.quantiles(vals, n=4, method='inclusive')
    return m, a, b


def paired(mode, v, op, metric='ns'):
    x, y = timing.get((mode, 'without', metric), {}), timing.get((mode, v, metric), {})
    common = sorted(set(x) & set(y))
    if not common:
        return None
    if op == 'ratio':  # throughput with / without = ns without / ns with
        return q([x[r] / y[r] for r in common])
    return q([y[r] - x[r] for r in common])


print('## Redis GET benchmark (%d interleaved rounds, %d GETs per mode and run)' % (rounds,
                                                                                    count))
print()
print(about)
print()
if timing:
    print('| metric | ' + ' | '.join(labels[v] for v in variants) + ' |')
    print('|---|' + '---|' * len(variants))
    for mode, name in (('sync', 'sync'), ('pipeline', 'pipelined x100')):
        for metric, mname in (('ns', 'wall'), ('cpu', 'CPU')):
            if not any(k[0] == mode and k[2] == metric for k in timing):
                continue
            cells = []
            for v in variants:
                d = timing.get((mode, v, metric))
                cells.append('%.0f' % statistics.median(d.values()) if d else 'n/a')
            print('| %s: %s ns per GET, median | %s |' % (name, mname, ' | '.join(cells)))
            if metric == 'ns':
                cells = ['-']
                for v in variants[1:]:
                    t = paired(mode, v, 'ratio')
                    cells.append('n/a' if t is None else 'x%.3f (%.3f..%.3f)' % t)
                print('| %s: throughput ratio with / without | %s |' % (name, ' | '.join(cells)))
            cells = ['-']
            for v in variants[1:]:
                t = paired(mode, v, 'delta', metric)
                cells.append('n/a' if t is None else '%+.0f ns (%+.0f..%+.0f)' % t)
            print('| %s: %s ns added per GET | %s |' % (name, mname, ' | '.join(cells)))
    print()
    print('Wall: CLOCK_MONOTONIC around the GETs; CPU: CLOCK_PROCESS_CPUTIME_ID (all threads of '
          'the client, the exporter thread included; the server not). Medians over the rounds; '
          'ratios and added ns: medians of the per-round values, 25th..75th percentiles in '
          'brackets (the noise).')
    print()
if cg:
    print('| callgrind: instructions per GET (marginal, %d..%d GETs) | %s |'
          % (n1, n2, ' | '.join(labels[v] for v in variants)))
    print('|---|' + '---|' * len(variants))
    for mode in ('sync', 'pipeline'):
        per = {}
        for v in variants:
            d = cg.get((mode, v), {})
            if n1 in d and n2 in d:
                per[v] = (d[n2] - d[n1]) / (n2 - n1)
        cells = []
        for v in variants:
            if v not in per:
                cells.append('n/a')
            elif v == 'without' or 'without' not in per:
                cells.append('%.0f' % per[v])
            else:
                cells.append('%.0f (%+.0f)' % (per[v], per[v] - per['without']))
        print('| %s | %s |' % (mode, ' | '.join(cells)))
    print()
    print('Exact instruction counts of all threads (exporting included), (I(N2) - I(N1)) / '
          '(N2 - N1); in brackets: added per GET.')
    print()
if sink:
    print('| sink: phase | variant | OTLP requests | spans received | spans expected |')
    print('|---|---|---|---|---|')
    for phase, v, s in sink:
        if phase == 'timing':
            exp = 1 + 1000 + 2 * count
        else:
            exp = 2 * (1 + 100) + n1 + n2
        if v == 'disabled':
            exp = 0
        bad = ' (%d undecodable)' % s['undecodable'] if s.get('undecodable') else ''
        print('| %s | %s | %d | %d%s | %d |' % (phase, v, s['requests'], s['spans_total'], bad, exp))
    print()
    print('Spans expected: the SET, the warm-up and the measured GETs of each run; fewer received '
          'means the preload dropped spans (queue full).')
PY
