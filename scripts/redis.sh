#!/usr/bin/env bash
# A private redis-server for the tests and benchmarks, everything in one directory.
#
#   scripts/redis.sh start DIR   write DIR/redis.conf and start redis-server in the background:
#                                127.0.0.1 on a free port, Unix socket DIR/redis.sock (mode
#                                700), no persistence, log DIR/redis.log, pid DIR/redis.pid;
#                                wait until it answers PING (TCP and socket); then write
#                                DIR/env (REDIS_PORT, REDIS_SOCK, REDIS_PID, shell syntax)
#   scripts/redis.sh stop DIR    stop that server by its PID (TERM, KILL after 10 s)
#
# Never uses the distribution's redis service or its configuration. The server does not
# inherit LD_PRELOAD. Works as root and as an ordinary user (DIR must be writable).
# Environment: REDIS_SERVER (default: redis-server from PATH or /usr/bin/redis-server).
set -euo pipefail

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage

fail() {
	echo "redis.sh: $*" >&2
	exit 1
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# is_ours PID: PID is alive and runs redis-server (not a recycled PID)
is_ours() {
	local exe
	kill -0 "$1" 2>/dev/null || return 1
	exe=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true)
	[[ "$exe" == *redis-server* ]] || [[ "$exe" == *redis-check* ]]
}

# ping_tcp PORT: "+PONG" from 127.0.0.1:PORT (redis-cli when installed, else bash /dev/tcp)
ping_tcp() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
		return
	fi
	local line
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 line <&3 || exit 1
		[ "${line%$'\r'}" = "+PONG" ]
	) 2>/dev/null
}

ping_sock() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -s "$1" ping 2>/dev/null)" = PONG ]
		return
	fi
	[ -S "$1" ]
}

start() {
	local server port pid try
	server=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
	[ -x "$server" ] || fail "no redis-server (Debian package redis-server)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/redis.pid" ] && is_ours "$(cat "$dir/redis.pid")"; then
		fail "a server of $dir is already running (PID $(cat "$dir/redis.pid"))"
	fi
	# The socket path must fit in sun_path (108 bytes).
	[ ${#dir} -le 90 ] || fail "directory path too long for a Unix socket: $dir"
	for try in 1 2 3 4 5; do
		port=$(free_port)
		rm -f "$dir/redis.pid" "$dir/redis.sock" "$dir/env"
		cat >"$dir/redis.conf" <<EOF
# Written by scripts/redis.sh: a private server for the tests.
bind 127.0.0.1
protected-mode yes
port $port
unixsocket $dir/redis.sock
unixsocketperm 700
daemonize no
supervised no
pidfile $dir/redis.pid
logfile $dir/redis.log
loglevel notice
dir $dir
save ""
appendonly no
databases 16
EOF
		: >"$dir/redis.log"
		env -u LD_PRELOAD "$server" "$dir/redis.conf" </dev/null >>"$dir/redis.out" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/redis.launch.pid"
		for _ in $(seq 200); do
			if ! kill -0 "$pid" 2>/dev/null; then
				wait "$pid" 2>/dev/null || true
				pid=""
				break
			fi
			if ping_tcp "$port" && ping_sock "$dir/redis.sock"; then
				break
			fi
			sleep 0.05
		done
		if [ -n "$pid" ] && ping_tcp "$port"; then
			break
		fi
		if [ -n "$pid" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			fail "redis-server (PID $pid) not answering PING after 10 s; see $dir/redis.log"
		fi
		# Exited: most likely the port was taken meanwhile; try another one.
		if ! grep -qi "address already in use" "$dir/redis.log" "$dir/redis.out" 2>/dev/null; then
			tail -n 20 "$dir/redis.log" "$dir/redis.out" >&2 || true
			fail "redis-server exited at start; see $dir/redis.log"
		fi
		[ "$try" -lt 5 ] || fail "no free port after 5 tries"
	done
	ping_sock "$dir/redis.sock" || fail "no answer on $dir/redis.sock"
	# redis-server writes DIR/redis.pid itself (also when not daemonized): the same PID as
	# DIR/redis.launch.pid, which stays for the time before it does (and if it cannot).
	cat >"$dir/env.tmp" <<EOF
REDIS_PORT=$port
REDIS_SOCK=$dir/redis.sock
REDIS_PID=$pid
EOF
	mv "$dir/env.tmp" "$dir/env"
	echo "redis-server PID $pid on 127.0.0.1:$port and $dir/redis.sock"
}

stop() {
	local pid="" f _
	for f in "$dir/redis.pid" "$dir/redis.launch.pid"; do
		if [ -f "$f" ]; then
			pid=$(cat "$f")
			is_ours "$pid" && break
			pid=""
		fi
	done
	if [ -z "$pid" ]; then
		rm -f "$dir/env"
		echo "redis.sh: no running server in $dir" >&2
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 200); do
		is_ours "$pid" || break
		sleep 0.05
	done
	if is_ours "$pid"; then
		echo "redis.sh: PID $pid still running 10 s after SIGTERM: killed" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/env" "$dir/redis.launch.pid"
	echo "redis-server PID $pid stopped"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
