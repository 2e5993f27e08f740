#!/usr/bin/env bash
# HTTP benchmarks of the preload, each run with and without LD_PRELOAD in one go:
#   (a) bench/http-pingpong.c: CPU and wall time per request, client and server both traced,
#       keep-alive and one connection per request; interleaved rounds, medians; plus exact
#       instructions per request under callgrind, per process (client, server)
#   (b) bench/passthrough.c: what write()+read() pays on a non-HTTP TCP socket and on a pipe
#   (c) nginx (master + 1 worker) serving a small file, under wrk
#   (d) Node.js (bench/node-server.js) bare, with the OpenTelemetry Node SDK and its
#       auto-instrumentations, and with the preload, under wrk
# Variants alternate within each round (which one goes first alternates too) and the table
# gives medians over the rounds, ratios and deltas as medians of the per-round pairs. For (c)
# and (d) every measurement starts a fresh server, warms it up, runs wrk and stops it.
# All servers listen on 127.0.0.1 only. Spans go over OTLP/HTTP to a small sink started here,
# which stores request bodies and counts spans only between phases (so it costs little CPU
# while a measurement runs). Prints a markdown table at the end (for docs/benchmarks.md), and
# what the sink received against the requests served.
# To measure the preload loaded but with its HTTP instrumentation off, run the script with
# OTEL_PRELOAD_DISABLED_INSTRUMENTATIONS=http in the environment (every run inherits it).
#
# Usage: scripts/bench-http.sh [--quick] [--rounds N] [--skip LIST] [--keep]
#   --quick      a fast smoke run: few rounds, short runs (numbers are only indicative)
#   --rounds N   interleaved rounds per comparison (default 7; --quick: 2)
#   --skip LIST  comma-separated parts to leave out: pingpong,callgrind,passthrough,nginx,node
#   --keep       keep the work directory (logs, callgrind files, raw results)
# Environment: OTELP_BENCH_BUILD (build directory, default /tmp/bench-build),
#   OTELP_BENCH_NODE_CACHE (npm packages, default /var/cache/otelpreload-bench/node).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

quick=0
rounds=""
skip=","
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--rounds)
		rounds=${2:?--rounds needs a number}
		shift
		;;
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
		echo "bench-http: unknown argument: $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

if [ "$quick" -eq 1 ]; then
	: "${rounds:=2}"
	pp_requests=3000 pp_new_requests=1000 pt_calls=100000
	cg_requests=200 cg_calls=10000 wrk_secs=2 warm_secs=1
else
	: "${rounds:=7}"
	pp_requests=20000 pp_new_requests=5000 pt_calls=500000
	cg_requests=1000 cg_calls=20000 wrk_secs=5 warm_secs=3
fi
case "$rounds" in '' | *[!0-9]* | 0)
	echo "bench-http: --rounds must be a positive integer" >&2
	exit 2
	;;
esac
# The parts of the script (a) to (d) each measure "without" and "with" in alternation.
want() { [[ "$skip" != *",$1,"* ]]; }

build_dir=${OTELP_BENCH_BUILD:-/tmp/bench-build}
node_cache=${OTELP_BENCH_NODE_CACHE:-/var/cache/otelpreload-bench/node}
# Pinned npm packages for (d): the newest line that still supports Node.js 18.19 and 20.
node_pkgs=(@opentelemetry/api@1.9.0 @opentelemetry/sdk-node@0.223.0
	@opentelemetry/auto-instrumentations-node@0.81.2)

say() { printf '== %s\n' "$*"; }
warn() { printf 'bench-http: warning: %s\n' "$*" >&2; }
fail() {
	printf 'bench-http: %s\n' "$*" >&2
	exit 1
}

# ---- tools -------------------------------------------------------------------------------

apt_missing=()
need_pkg() { # need_pkg COMMAND PACKAGE: queue PACKAGE when COMMAND is not found
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || apt_missing+=("$2")
}
need_pkg meson meson
need_pkg ninja ninja-build
need_pkg cc gcc
need_pkg pkg-config pkg-config
need_pkg protoc-c protobuf-c-compiler
need_pkg /usr/bin/python3 python3
for dev in libprotobuf-c-dev libcurl4-openssl-dev zlib1g-dev; do
	dpkg-query -W -f='${Status}' "$dev" 2>/dev/null | grep -q "install ok installed" ||
		apt_missing+=("$dev")
done
want callgrind && need_pkg valgrind valgrind
if want nginx; then
	need_pkg wrk wrk
	if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
		if apt-cache show nginx-light >/dev/null 2>&1; then
			apt_missing+=(nginx-light)
		else
			apt_missing+=(nginx)
		fi
	fi
fi
if want node; then
	need_pkg wrk wrk
	need_pkg node nodejs
	need_pkg npm npm
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
	mapfile -t apt_missing < <(printf '%s\n' "${apt_missing[@]}" | sort -u)
	say "installing: ${apt_missing[*]}"
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
		--no-install-recommends "${apt_missing[@]}"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# ---- work directory, processes, cleanup ---------------------------------------------------

work=$(mktemp -d --tmpdir --suffix=.otelp-bench-http)
chmod 755 "$work"
results=$work/results.tsv
: >"$results"
pids=()

cleanup() { # stop what is left of our servers (TERM, then KILL after 5 s), by PID
	local pid _
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for _ in $(seq 50); do
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=""
		done
		[ -n "$pid" ] || break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$keep" -eq 1 ]; then
		echo "bench-http: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_pid() { # stop_pid PID [SIGNAL]: signal one of our servers and reap it
	local pid=$1 sig=${2:-TERM} _
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		diagnose "$pid" "exit-$pid"
		warn "PID $pid still running 10 s after SIG$sig, killed; see $diag"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	local kept=() p
	for p in "${pids[@]}"; do
		[ "$p" = "$pid" ] || kept+=("$p")
	done
	pids=("${kept[@]+"${kept[@]}"}")
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT PID: until 127.0.0.1:PORT accepts, while PID lives
	local _
	for _ in $(seq 200); do
		kill -0 "$2" 2>/dev/null || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

diagnose() { # diagnose PID LABEL: what a stuck process is doing, into $diag (work dir kept)
	local pid=$1 out=$work/stuck-$2.txt t
	keep=1
	diag=$out
	{
		echo "== $2, PID $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		grep -E '^(State|Threads)' "/proc/$pid/status" 2>/dev/null
		for t in /proc/"$pid"/task/*; do
			echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" \
				2>/dev/null) syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
		done
		if command -v gdb >/dev/null 2>&1; then
			timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt' 2>&1 |
				grep -E '^(Thread|#)'
		fi
	} >"$out" 2>&1 || true
}

mapped() { # mapped PID: "yes" when the preload is mapped into PID (or one of its children)
	local p
	for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		if grep -q libotelpreload "/proc/$p/maps" 2>/dev/null; then
			echo yes
			return
		fi
	done
	echo no
}

record() { # record PART CASE VARIANT ROUND DATA
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"
}

# ---- build ----------------------------------------------------------------------------------

say "build: $build_dir"
if [ ! -f "$build_dir/build.ninja" ]; then
	meson setup "$build_dir" --buildtype=debugoptimized -Dtests=disabled >/dev/null 2>&1 ||
		meson setup "$build_dir" >/dev/null
fi
ninja -C "$build_dir" >/dev/null
lib=$build_dir/hooks/libotelpreload.so
# The source tree of the library (the build directory may come from another checkout).
build_src=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["directories"]["source"])' \
	"$build_dir/meson-info/meson-info.json" 2>/dev/null || echo "$repo")
[ -f "$lib" ] || fail "no $lib after the build"
bin=$build_dir/bench-http
mkdir -p "$bin"
for prog in http-pingpong passthrough otlp-sink; do
	if [ -x "$build_dir/bench/$prog" ]; then
		cp "$build_dir/bench/$prog" "$bin/$prog" # built by meson (bench/meson.build)
	else
		libs=()
		[ "$prog" = otlp-sink ] && libs=(-lz)
		cc -std=gnu11 -O2 -g -Wall -Wextra -I"$repo/include" "$repo/bench/$prog.c" \
			-o "$bin/$prog" ${libs[@]+"${libs[@]}"}
	fi
done

# ---- OTLP sink (bench/otlp-sink.c) ----------------------------------------------------------
"$bin/otlp-sink" "$work/sink.port" >"$work/sink.log" 2>&1 &
sink_pid=$!
pids+=("$sink_pid")
for _ in $(seq 100); do
	[ -f "$work/sink.port" ] && break
	sleep 0.05
done
[ -f "$work/sink.port" ] || fail "the OTLP sink did not start (see $work/sink.log)"
sink_port=$(cat "$work/sink.port")
say "OTLP sink on 127.0.0.1:$sink_port"

sink_stats() { # sink_stats PHASE: record and print what the sink got since the last call
	local s
	s=$(/usr/bin/python3 -c 'import sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(o.open("http://127.0.0.1:%s/stats" % sys.argv[1], timeout=300).read().decode())' \
		"$sink_port")
	record sink "$1" - - "$s"
	echo "   sink after $1: $s"
}

# The same OpenTelemetry settings for every run, with or without the preload (so that the
# environments differ only by LD_PRELOAD), and for the Node SDK.
otel_env=(
	OTEL_TRACES_EXPORTER=otlp
	OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
	OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port"
	OTEL_TRACES_SAMPLER=parentbased_always_on
	OTEL_BSP_MAX_QUEUE_SIZE=65536
	OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512
	OTEL_BSP_SCHEDULE_DELAY=500
	OTEL_PRELOAD_LOG_FILE="$work/otelpreload.log"
	"NO_PROXY=127.0.0.1,localhost"
	"no_proxy=127.0.0.1,localhost"
)
variant_env() { # variant_env without|with SERVICE: sets venv, an env(1) prefix for the variant
	venv=(env "${otel_env[@]}" OTEL_SERVICE_NAME="$2")
	if [ "$1" = with ]; then venv+=(LD_PRELOAD="$lib"); fi
}
run_variant() { # run_variant without|with SERVICE CMD...: CMD with the OTel env, preloaded or not
	local venv
	variant_env "$1" "$2"
	shift 2
	"${venv[@]}" "$@"
}
order() { # order ROUND: the two variants, alternating which goes first
	if [ $(($1 % 2)) -eq 1 ]; then echo "without with"; else echo "with without"; fi
}
kv() { # kv KEY LINE: the value of KEY=value in LINE
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && {
			echo "${w#*=}"
			return
		}
	done
	echo ""
}

# ---- (a) ping-pong ----------------------------------------------------------------------------

pingpong_run() { # pingpong_run ROUND MODE VARIANT ARGS...: one run, checked and recorded
	local r=$1 mode=$2 v=$3 line
	shift 3
	line=$(run_variant "$v" bench-pingpong "$bin/http-pingpong" "$@")
	if [ "$v" = with ] &&
		[ "$(kv preload_client "$line")$(kv preload_server "$line")" != 11 ]; then
		fail "ping-pong: the preload is not active in both processes: $line"
	fi
	record pingpong "$mode" "$v" "$r" "$line"
	printf '   round %s %-14s %-7s cpu %s us/req, wall %s us/req, %s ctxsw/req\n' "$r" "$mode" \
		"$v" "$(kv cpu_us_per_req "$line")" "$(kv wall_us_per_req "$line")" \
		"$(kv ctxsw_per_req "$line")"
}

if want pingpong; then
	say "(a) ping-pong: $rounds rounds; $pp_requests keep-alive requests," \
		"$pp_new_requests with a connection each"
	for r in $(seq "$rounds"); do
		for v in $(order "$r"); do
			pingpong_run "$r" keep-alive "$v" --requests "$pp_requests"
		done
		for v in $(order "$r"); do
			pingpong_run "$r" new-connection "$v" --requests "$pp_new_requests" \
				--new-connection
		done
	done
	sink_stats pingpong
fi

# ---- (a') instructions per request, callgrind -------------------------------------------------

cg_count() { # cg_count FILE: total instructions in a callgrind output file
	awk '/^summary:/ {print $2; exit}' "$1"
}
cg_top() { # cg_top SMALL BIG CALLS LABEL: the functions that grow most per call from SMALL to BIG
	callgrind_annotate --threshold=100 --auto=no "$1" >"$1.txt" 2>/dev/null
	callgrind_annotate --threshold=100 --auto=no "$2" >"$2.txt" 2>/dev/null
	/usr/bin/python3 - "$1.txt" "$2.txt" "$3" "$4" <<'PY'
import re
import sys


def read(path):
    out, on = {}, False
    for line in open(path):
        if 'file:function' in line:
            on = True
            continue
        if on and not line.strip():
            break
        m = re.match(r'\s*([\d,]+) (?:\([^)]*\))?\s+(.*\S)', line) if on else None
        if m:
            name = re.sub(r'^.*/(?=[^/]*:)', '', m.group(2).split(' [')[0])
            out[name] = out.get(name, 0) + int(m.group(1).replace(',', ''))
    return out


a, b = read(sys.argv[1]), read(sys.argv[2])
calls = float(sys.argv[3])
grow = sorted(((b.get(k, 0) - a.get(k, 0)) / calls, k) for k in set(a) | set(b))[::-1]
total = sum(g for g, _ in grow)
print('   %s: %.0f instructions per call; largest shares (self cost):' % (sys.argv[4], total))
for g, k in grow[:12]:
    if g >= 1:
        print('     %8.0f  %s' % (g, k))
PY
}

# Under callgrind the exporter runs on full batches and at exit only (no timer), so that the
# counts do not depend on how slowly the program runs there.
cg_run() { # cg_run VARIANT OUT CMD...: CMD under callgrind, one output file per process
	local v=$1 out=$2
	shift 2
	run_variant "$v" bench-cg env OTEL_BSP_SCHEDULE_DELAY=600000 \
		valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$@" 2>"$out.log"
}
cg_pingpong() { # cg_pingpong MODE VARIANT N
	local mode=$1 v=$2 n=$3 out line client server
	local args=(--requests "$n")
	[ "$mode" = keep-alive ] || args+=(--new-connection)
	out=$work/callgrind/pp-$mode-$v-$n
	line=$(cg_run "$v" "$out" "$bin/http-pingpong" "${args[@]}") ||
		fail "callgrind: ping-pong failed, see $out.log"
	cp "$out.$(kv client_pid "$line")" "$out.client"
	cp "$out.$(kv server_pid "$line")" "$out.server"
	client=$(cg_count "$out.client")
	server=$(cg_count "$out.server")
	if [ -z "$client" ] || [ -z "$server" ]; then
		fail "callgrind: no counts in $out.*"
	fi
	record callgrind "pingpong-$mode" "$v" "$n" "client=$client server=$server"
	printf '   %-14s %-7s %6s requests: client %s, server %s instructions\n' "$mode" "$v" \
		"$n" "$client" "$server"
}
cg_passthrough() { # cg_passthrough FD VARIANT N
	local fd=$1 v=$2 n=$3 out total=0 f
	out=$work/callgrind/pt-$fd-$v-$n
	cg_run "$v" "$out" "$bin/passthrough" --fd "$fd" --calls "$n" --symbols-only \
		>"$out.line" || fail "callgrind: passthrough failed, see $out.log"
	for f in "$out".[0-9]*; do # one process
		total=$((total + $(cg_count "$f")))
		cp "$f" "$out.all"
	done
	record callgrind "passthrough-$fd" "$v" "$n" "total=$total"
	printf '   passthrough %-4s %-7s %6s calls: %s instructions\n' "$fd" "$v" "$n" "$total"
}

if want callgrind; then
	say "(a) callgrind: instructions per request, per process, marginal over" \
		"$cg_requests..$((3 * cg_requests)) requests"
	mkdir -p "$work/callgrind"
	for mode in keep-alive new-connection; do
		for v in without with; do
			cg_pingpong "$mode" "$v" "$cg_requests"
			cg_pingpong "$mode" "$v" $((3 * cg_requests))
		done
	done
	for fd in tcp pipe; do
		for v in without with; do
			cg_passthrough "$fd" "$v" "$cg_calls"
			cg_passthrough "$fd" "$v" $((3 * cg_calls))
		done
	done
	say "(a) callgrind: where the preload's instructions go, with the preload (marginal)"
	cg=$work/callgrind
	n1=$cg_requests n3=$((3 * cg_requests))
	for mode in keep-alive new-connection; do
		for proc in client server; do
			cg_top "$cg/pp-$mode-with-$n1.$proc" "$cg/pp-$mode-with-$n3.$proc" \
				$((n3 - n1)) "ping-pong $mode, $proc, per request"
		done
	done
	cg_top "$cg/pt-tcp-with-$cg_calls.all" "$cg/pt-tcp-with-$((3 * cg_calls)).all" \
		$((2 * cg_calls)) "passthrough tcp, per write+read"
	sink_stats callgrind
fi

# ---- (b) passthrough --------------------------------------------------------------------------

if want passthrough; then
	say "(b) passthrough: $rounds rounds of $pt_calls write+read calls per kind of descriptor"
	for r in $(seq "$rounds"); do
		first=tls
		[ $((r % 2)) -eq 1 ] || first=resp
		for v in $(order "$r"); do
			out=$(run_variant "$v" bench-passthrough "$bin/passthrough" \
				--calls "$pt_calls" --first "$first")
			while IFS= read -r line; do
				record passthrough "$(kv fd "$line")" "$v" "$r" "$line"
				printf '   round %s %-7s %-4s (%s) %s ns/call, hook %s ns/call\n' \
					"$r" "$v" "$(kv fd "$line")" "$(kv first "$line")" \
					"$(kv ns_per_call "$line")" "$(kv hook_ns_per_call "$line")"
			done <<<"$out"
		done
	done
fi

# ---- wrk ------------------------------------------------------------------------------------

run_wrk() { # run_wrk URL SECONDS: prints "rps=... requests=... errors=..."
	local out rps total errors
	out=$(wrk -t1 -c16 -d"${2}s" "$1")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	total=$(awk '/ requests in / {print $1}' <<<"$out")
	errors=$(awk '/Non-2xx|Socket errors/ {$1 = $1; gsub(/ /, "_"); printf "%s;", $0}' \
		<<<"$out")
	[ -n "$rps" ] || fail "wrk gave no result for $1: $out"
	[ -z "$errors" ] || warn "wrk against $1: $errors"
	echo "rps=$rps requests=$total errors=${errors:-none}"
}

# ---- (c) nginx ------------------------------------------------------------------------------

start_nginx() { # start_nginx VARIANT: sets nginx_pid and nginx_port
	local v=$1 prefix=$work/nginx-$1 user_line=""
	nginx_port=$(free_port)
	mkdir -p "$prefix/html" "$prefix/logs" "$prefix/tmp"
	printf 'hello, world\n' >"$prefix/html/small.txt"
	[ "$(id -u)" -eq 0 ] && user_line="user root;"
	cat >"$prefix/nginx.conf" <<-EOF
		$user_line
		daemon off;
		master_process on;
		worker_processes 1;
		pid $prefix/nginx.pid;
		error_log $prefix/logs/error.log warn;
		events {
			worker_connections 1024;
		}
		http {
			access_log off;
			sendfile on;
			tcp_nopush on;
			keepalive_requests 1000000;
			default_type text/plain;
			client_body_temp_path $prefix/tmp/body;
			proxy_temp_path $prefix/tmp/proxy;
			fastcgi_temp_path $prefix/tmp/fastcgi;
			uwsgi_temp_path $prefix/tmp/uwsgi;
			scgi_temp_path $prefix/tmp/scgi;
			server {
				listen 127.0.0.1:$nginx_port;
				root $prefix/html;
			}
		}
	EOF
	# A simple command in the background: env(1) execs nginx, so $! is the master's PID.
	variant_env "$v" bench-nginx
	"${venv[@]}" "$nginx_bin" -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf" \
		>"$prefix/logs/stdout.log" 2>&1 &
	nginx_pid=$!
	pids+=("$nginx_pid")
	if ! wait_port "$nginx_port" "$nginx_pid"; then
		kill -0 "$nginx_pid" 2>/dev/null && diagnose "$nginx_pid" "nginx-$v"
		fail "nginx ($v) did not start: $(cat "$prefix/logs/error.log" 2>/dev/null)"
	fi
}

measure_server() { # measure_server PART VARIANT ROUND URL PID: warm up, measure, record
	local part=$1 v=$2 r=$3 url=$4 pid=$5 m res
	m=$(mapped "$pid")
	if { [ "$v" = with ] || [ "$v" = preload ]; } && [ "$m" != yes ]; then
		fail "$part ($v): the preload is not mapped into PID $pid"
	fi
	res=$(run_wrk "$url" "$warm_secs")
	record warmup "$part" "$v" "$r" "$res"
	res=$(run_wrk "$url" "$wrk_secs")
	record "$part" server "$v" "$r" "$res"
	printf '   round %s %-7s %s (pid %s, preload mapped: %s)\n' "$r" "$v" "$res" "$pid" "$m"
}

if want nginx; then
	say "(c) nginx small file: $rounds rounds, wrk -t1 -c16 -d${wrk_secs}s after" \
		"${warm_secs}s of warm-up, a fresh nginx each time ($("$nginx_bin" -v 2>&1))"
	for r in $(seq "$rounds"); do
		for v in $(order "$r"); do
			start_nginx "$v"
			sleep 0.2 # the worker
			measure_server nginx "$v" "$r" "http://127.0.0.1:$nginx_port/small.txt" \
				"$nginx_pid"
			stop_pid "$nginx_pid" QUIT # waits for the master: the last spans are out
		done
	done
	sink_stats nginx
fi

# ---- (d) Node.js --------------------------------------------------------------------------------

if want node; then
	say "(d) Node.js $(node --version): packages in $node_cache"
	mkdir -p "$node_cache"
	pkg_version() { # pkg_version NAME: the installed version of an npm package, or "?"
		/usr/bin/python3 -c 'import json, sys
try:
    print(json.load(open(sys.argv[1]))["version"])
except OSError:
    print("?")' "$node_cache/node_modules/$1/package.json"
	}
	have_pkgs=1
	for p in "${node_pkgs[@]}"; do
		[ "$(pkg_version "${p%@*}")" = "${p##*@}" ] || have_pkgs=0
	done
	if [ "$have_pkgs" -eq 0 ]; then
		say "npm install ${node_pkgs[*]}"
		[ -f "$node_cache/package.json" ] ||
			echo '{"name": "otelpreload-bench-node", "private": true}' \
				>"$node_cache/package.json"
		if ! (cd "$node_cache" && npm install --no-audit --no-fund --save-exact \
			--cache "$node_cache/../npm-cache" "${node_pkgs[@]}") \
			>"$work/npm.log" 2>&1; then
			fail "npm install failed: $(tail -20 "$work/npm.log")"
		fi
	fi
	for name in "${node_pkgs[@]%@*}" @opentelemetry/instrumentation-http \
		@opentelemetry/sdk-trace-base @opentelemetry/exporter-trace-otlp-proto; do
		printf '   %s %s\n' "$name" "$(pkg_version "$name")"
	done

	# Every variant gets the same OTel variables; only the SDK one loads the SDK. The SDK's
	# resource detectors are limited to local ones (no cloud metadata probes).
	node_env=(NODE_PATH="$node_cache/node_modules" OTEL_METRICS_EXPORTER=none
		OTEL_LOGS_EXPORTER=none "OTEL_NODE_RESOURCE_DETECTORS=env,host,os,process")
	start_node() { # start_node bare|sdk|preload: sets node_pid and node_port
		local v=$1 log=$work/node-$1.log nargs try
		case $v in
		bare) variant_env without bench-node-bare ;;
		sdk) variant_env without bench-node-sdk ;;
		preload) variant_env with bench-node-preload ;;
		esac
		nargs=("$repo/bench/node-server.js" 0)
		if [ "$v" = sdk ]; then
			nargs=(--require @opentelemetry/auto-instrumentations-node/register
				"${nargs[@]}")
		fi
		for try in 1 2; do
			# Without NODE_EXTRA_CA_CERTS: these servers need no CA, and with it set
			# Node 20 was seen here to hang now and then at start-up inside OpenSSL.
			env -u NODE_EXTRA_CA_CERTS "${venv[@]}" "${node_env[@]}" \
				node "${nargs[@]}" >"$log" 2>&1 &
			node_pid=$!
			pids+=("$node_pid")
			for _ in $(seq 600); do # 30 s
				grep -q '^listening ' "$log" 2>/dev/null && break
				kill -0 "$node_pid" 2>/dev/null ||
					fail "node ($v) exited: $(cat "$log")"
				sleep 0.05
			done
			node_port=$(awk '/^listening / {print $2; exit}' "$log")
			[ -z "$node_port" ] || return 0
			# Seen on this busy VM: a start-up that stalls (no output, one thread
			# spinning). Keep what it was doing, then try once more.
			diagnose "$node_pid" "node-$v-$try"
			warn "node ($v) not listening after 30 s (try $try), see $diag"
			stop_pid "$node_pid" KILL
		done
		fail "node ($v) did not start twice in a row"
	}
	say "(d) Node.js: $rounds rounds, wrk -t1 -c16 -d${wrk_secs}s after ${warm_secs}s of" \
		"warm-up, a fresh server each time"
	for r in $(seq "$rounds"); do
		case $((r % 3)) in
		1) vs="bare sdk preload" ;;
		2) vs="sdk preload bare" ;;
		0) vs="preload bare sdk" ;;
		esac
		for v in $vs; do
			start_node "$v"
			measure_server node "$v" "$r" "http://127.0.0.1:$node_port/" "$node_pid"
			stop_pid "$node_pid" TERM
		done
	done
	sink_stats node
fi

# ---- report ---------------------------------------------------------------------------------

drops=$(grep -ci 'dropped' "$work/otelpreload.log" 2>/dev/null || true)
echo
say "preload diagnostics: ${drops:-0} line(s) about dropped spans in its log"
[ "${drops:-0}" -gt 0 ] && grep -i 'dropped' "$work/otelpreload.log" | head -5
echo

rev=$(git -C "$build_src" describe --always --dirty 2>/dev/null || echo "not a git tree")
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
about="library $lib (source $build_src, $rev); $(nproc) x ${cpu:-unknown CPU}, Linux $(uname -r)"
about="$about; $(date -u '+%Y-%m-%d %H:%M UTC')"
/usr/bin/python3 - "$results" "$rounds" "$quick" "$about" <<'PY'
import json
import statistics
import sys

path, rounds, quick, about = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1', sys.argv[4]
rows = {}       # (part, case, variant) -> {round: {key: value}}
sink = {}
for line in open(path):
    part, case, variant, rnd, data = line.rstrip('\n').split('\t', 4)
    if part == 'sink':
        sink[case] = json.loads(data)
        continue
    kv = dict(w.split('=', 1) for w in data.split() if '=' in w)
    rows.setdefault((part, case, variant), {})[rnd] = kv


def series(part, case, variant, key):
    d = rows.get((part, case, variant), {})
    return {r: float(v[key]) for r, v in d.items() if key in v and v[key] not in ('', 'nan')}


def med(vals):
    vals = list(vals)
    return statistics.median(vals) if vals else None


def paired(part, case, key, a='without', b='with', op='delta'):
    """Median, 25th and 75th percentiles of the per-round differences (or ratios) b vs a."""
    x, y = series(part, case, a, key), series(part, case, b, key)
    common = sorted(set(x) & set(y))
    if op == 'delta':
        vals = [y[r] - x[r] for r in common]
    else:
        vals = [y[r] / x[r] for r in common if x[r]]
    if not vals:
        return None, None, None
    if len(vals) < 2:
        return vals[0], vals[0], vals[0]
    q1, q2, q3 = statistics.quantiles(vals, n=4, method='inclusive')
    return q2, q1, q3


def ratio_cell(t):
    m, lo, hi = t
    return 'n/a' if m is None else 'x%.3f (%.3f..%.3f)' % (m, lo, hi)


def delta_cell(t, digits, unit):
    m, lo, hi = t
    if m is None:
        return 'n/a'
    return '%s (%+.*f..%+.*f)' % (signed(m, digits, unit), digits, lo, digits, hi)


def f(v, digits=2):
    if v is None:
        return 'n/a'
    if abs(v) >= 1000:
        return '{:,.0f}'.format(v)
    return '{:.{}f}'.format(v, digits)


def signed(v, digits=2, unit=''):
    if v is None:
        return 'n/a'
    if abs(v) < 0.5 * 10 ** -digits:
        v = 0.0  # no "-0"
    return '{:+.{}f}{}'.format(v, digits, unit)


table = []


def row(metric, without, with_, change, target, verdict):
    table.append((metric, without, with_, change, target, verdict))


def verdict(ok):
    return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')


# (a) ping-pong
for mode in ('keep-alive', 'new-connection'):
    if ('pingpong', mode, 'with') not in rows:
        continue
    cw = med(series('pingpong', mode, 'without', 'cpu_us_per_req').values())
    cy = med(series('pingpong', mode, 'with', 'cpu_us_per_req').values())
    d = paired('pingpong', mode, 'cpu_us_per_req')
    if mode == 'keep-alive':
        row('ping-pong %s: CPU per request, client + server (us)' % mode, f(cw), f(cy),
            delta_cell(d, 2, ' us'), '<= +2 us', verdict(None if d[0] is None else d[0] <= 2.0))
    else:
        row('ping-pong %s: CPU per request, client + server (us)' % mode, f(cw), f(cy),
            delta_cell(d, 2, ' us'), '-', '-')
    ww = med(series('pingpong', mode, 'without', 'wall_us_per_req').values())
    wy = med(series('pingpong', mode, 'with', 'wall_us_per_req').values())
    ratio = paired('pingpong', mode, 'wall_us_per_req', op='ratio')
    row('ping-pong %s: wall time per request (us)' % mode, f(ww), f(wy), ratio_cell(ratio),
        '-', '-')
    xa = med(series('pingpong', mode, 'without', 'ctxsw_per_req').values())
    xb = med(series('pingpong', mode, 'with', 'ctxsw_per_req').values())
    row('ping-pong %s: context switches per request' % mode, f(xa), f(xb),
        signed(None if xa is None or xb is None else xb - xa), '-', '-')

# (a) callgrind, marginal instructions per request
for case in ('pingpong-keep-alive', 'pingpong-new-connection'):
    got = {}
    for v in ('without', 'with'):
        d = rows.get(('callgrind', case, v), {})
        if len(d) != 2:
            continue
        n1, n2 = sorted(d, key=int)
        for proc in ('client', 'server'):
            got[(v, proc)] = (float(d[n2][proc]) - float(d[n1][proc])) / (int(n2) - int(n1))
    for proc in ('client', 'server'):
        if ('without', proc) in got and ('with', proc) in got:
            a, b = got[('without', proc)], got[('with', proc)]
            row('callgrind %s: instructions per request, %s' % (case[9:], proc), f(a, 0),
                f(b, 0), signed(b - a, 0), '-', '-')
for fd in ('tcp', 'pipe'):
    got = {}
    for v in ('without', 'with'):
        d = rows.get(('callgrind', 'passthrough-' + fd, v), {})
        if len(d) == 2:
            n1, n2 = sorted(d, key=int)
            got[v] = (float(d[n2]['total']) - float(d[n1]['total'])) / (int(n2) - int(n1))
    if len(got) == 2:
        row('callgrind passthrough %s: instructions per write+read' % fd, f(got['without'], 1),
            f(got['with'], 1), signed(got['with'] - got['without'], 1), '-', '-')

# (b) passthrough
for fd, label in (('tcp', 'TCP, non-HTTP first bytes'), ('pipe', 'pipe')):
    if ('passthrough', fd, 'with') not in rows:
        continue
    a = med(series('passthrough', fd, 'without', 'ns_per_call').values())
    b = med(series('passthrough', fd, 'with', 'ns_per_call').values())
    d = paired('passthrough', fd, 'ns_per_call')
    row('passthrough %s: ns per write+read, two processes' % label, f(a), f(b),
        delta_cell(d, 1, ' ns'), '-', '-')
    ha = med(series('passthrough', fd, 'without', 'hook_ns_per_call').values())
    hb = med(series('passthrough', fd, 'with', 'hook_ns_per_call').values())
    row('passthrough %s: ns added per write+read, in-process A/B' % label, signed(ha, 1),
        signed(hb, 1), signed(None if ha is None or hb is None else hb - ha, 1, ' ns'),
        '<= +30 ns', verdict(None if hb is None else hb - ha <= 30))

# (c) nginx
if ('nginx', 'server', 'with') in rows:
    a = med(series('nginx', 'server', 'without', 'rps').values())
    b = med(series('nginx', 'server', 'with', 'rps').values())
    ratio = paired('nginx', 'server', 'rps', op='ratio')
    row('nginx small file, wrk -c16: requests/s', f(a), f(b), ratio_cell(ratio), '>= x0.95',
        verdict(ratio[0] >= 0.95))

# (d) Node.js
if ('node', 'server', 'bare') in rows:
    a = med(series('node', 'server', 'bare', 'rps').values())
    s = med(series('node', 'server', 'sdk', 'rps').values())
    p = med(series('node', 'server', 'preload', 'rps').values())
    rs = paired('node', 'server', 'rps', a='bare', b='sdk', op='ratio')
    rp = paired('node', 'server', 'rps', a='bare', b='preload', op='ratio')
    row('Node.js http, OpenTelemetry Node SDK: requests/s', f(a), f(s), ratio_cell(rs), '-',
        '-')
    sdk_loss = 1 - rs[0]
    limit = 1 - max(sdk_loss, 0) / 5
    row('Node.js http, otelpreload: requests/s', f(a), f(p), ratio_cell(rp),
        '>= x%.3f (loss <= 1/5 of SDK loss %.1f %%)' % (limit, 100 * sdk_loss),
        verdict(1 - rp[0] <= max(sdk_loss, 0) / 5))

print('## HTTP benchmarks%s (%d interleaved rounds, medians)' % (' (--quick)' if quick else '',
                                                                  rounds))
print()
print(about)
print()
print('| metric | without | with | ratio / delta | target | verdict |')
print('|---|---|---|---|---|---|')
for r in table:
    print('| ' + ' | '.join(r) + ' |')
print()
print('Without / with: medians over the rounds. Ratio / delta: median of the per-round ratios or '
      'differences, with their 25th..75th percentiles in brackets (the noise). Callgrind: exact '
      'instructions, (I(3N) - I(N)) / 2N per process, exporting included. In-process A/B: '
      'median difference between batches of calls through the interposed symbols and straight '
      'into libc, in one process (without the preload it shows the noise floor).')

# What the sink received: spans per service and kind, against the requests served.
served = {}
for (part, case, variant), d in rows.items():
    if part in ('nginx', 'node') or part == 'warmup':
        key = (case if part == 'warmup' else part, variant)
        served[key] = served.get(key, 0) + sum(int(float(v.get('requests', 0) or 0))
                                               for v in d.values())
    if part == 'pingpong' and variant == 'with':
        served[('pingpong', case)] = sum(int(v['requests']) for v in d.values())
if sink:
    print()
    print('| phase | OTLP requests | spans received (service: kind count) | requests served '
          'with tracing (warm-ups included) | sink CPU |')
    print('|---|---|---|---|---|')
    for phase, s in sink.items():
        spans = '; '.join('%s: %s' % (svc, ', '.join('%s %d' % kv for kv in sorted(k.items())))
                          for svc, k in sorted(s.get('spans', {}).items())) or 'none'
        if phase == 'pingpong':
            req = ', '.join('%s %d (x2 spans expected)' % (c, n) for (p, c), n in served.items()
                            if p == 'pingpong')
        elif phase == 'nginx':
            req = 'with: %d' % served.get(('nginx', 'with'), 0)
        elif phase == 'node':
            req = 'sdk: %d, preload: %d' % (served.get(('node', 'sdk'), 0),
                                            served.get(('node', 'preload'), 0))
        else:
            req = '-'
        bad = ' (%d undecodable)' % s['undecodable'] if s.get('undecodable') else ''
        print('| %s | %d | %s%s | %s | %.2f s |' % (phase, s.get('requests', 0), spans, bad, req,
                                                   s.get('sink_cpu_s', 0)))
    traced = sum(n for k in sink.get('pingpong', {}).get('spans', {}).values() for n in k.values())
    if 'pingpong' in sink and traced == 0:
        print()
        print('Note: the preload exported no span in the ping-pong runs: its HTTP '
              'instrumentation is not active, so these figures are a baseline of the harness.')
PY
