#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests and benchmarks, everything inside one directory.
#
# Usage: scripts/pg.sh start DIR [--port N]   initdb DIR/data (first time), start the server
#        scripts/pg.sh stop DIR [--remove]    stop it (pg_ctl stop -m fast); --remove deletes
#                                             DIR/data, DIR/env, DIR/postgres.log, then DIR
#                                             when it is left empty
#        scripts/pg.sh status DIR             "running" (exit 0) or "stopped" (exit 3)
#
# The server listens on 127.0.0.1 on a free port (or --port N) and on a Unix socket in DIR
# (DIR/.s.PGSQL.<port>); trust authentication (local and 127.0.0.1); superuser "postgres";
# log_statement=all to DIR/postgres.log, one entry per statement the server received,
#     <time> [<pid>] <user>@<db> app=[<application_name>] LOG:  statement: SELECT 1
#     <time> [<pid>] <user>@<db> app=[<application_name>] LOG:  execute <unnamed>: SELECT $1
# (continuation lines of a multi-line statement start with a tab); fsync=off.
# DIR/env (shell syntax, KEY=value one a line, also read by the Python tests):
#     PGHOST=127.0.0.1 PGPORT=<port> PGUSER=postgres PGDATABASE=postgres
#     PGSOCKDIR=<DIR> (the Unix socket's directory) PGDATA=<DIR/data> PGLOG=<DIR/postgres.log>
#     PGBINDIR=<where initdb and pg_ctl are>
# `start` waits until the server answers (pg_isready); it is idempotent: a running server is
# left alone (exit 0). `stop` is idempotent too.
#
# PostgreSQL refuses to run as root: as root, the server runs as `nobody` (DIR is chowned to
# it; DIR's parents must be searchable by it, e.g. a directory made by mktemp -d in /tmp);
# otherwise as the current user. Nothing is installed here. The server binaries come from
# $PG_BINDIR, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH.
set -euo pipefail

prog=pg.sh
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}
usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
port=""
remove=0
while [ $# -gt 0 ]; do
	case "$1" in
	--port)
		port=${2:?--port needs a number}
		shift
		;;
	--remove) remove=1 ;;
	*) usage ;;
	esac
	shift
done
case "$cmd" in start | stop | status) ;; *) usage ;; esac
if [ -n "$port" ]; then
	case "$port" in *[!0-9]*) die "--port must be a number" ;; esac
fi

if [ ! -d "$dir" ]; then
	case "$cmd" in
	start) mkdir -p "$dir" ;;
	stop)
		echo "$prog: no directory $dir: nothing to stop"
		exit 0
		;;
	status)
		echo "stopped (no directory $dir)"
		exit 3
		;;
	esac
fi
dir=$(cd "$dir" && pwd -P)
data=$dir/data
log=$dir/postgres.log
envfile=$dir/env

# ---- binaries ---------------------------------------------------------------------------------

find_bindir() {
	local d
	for d in "${PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)"; do
		[ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && {
			echo "$d"
			return
		}
	done
	# shellcheck disable=SC2012 # version directories: plain names
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && {
			echo "$d"
			return
		}
	done
	d=$(command -v initdb 2>/dev/null || true)
	[ -n "$d" ] && [ -x "$(dirname "$d")/pg_ctl" ] && {
		dirname "$d"
		return
	}
	return 1
}
bindir=$(find_bindir) || die "PostgreSQL server binaries (initdb, pg_ctl) not found: install" \
	"the Debian package postgresql, or set PG_BINDIR"

# ---- the server's user ------------------------------------------------------------------------

as_server=() # command prefix running as the server's user, with a clean environment
if [ "$(id -u)" -eq 0 ]; then
	run_user=nobody
	id -u "$run_user" >/dev/null 2>&1 || die "running as root needs the user $run_user"
	run_group=$(id -gn "$run_user")
	as_server=(setpriv --reuid="$run_user" --regid="$run_group" --clear-groups --)
else
	run_user=$(id -un)
fi
# No LD_PRELOAD, OTEL_* or PG* of the caller's reach the server (the tests run it bare).
server_env=(env -i PATH=/usr/bin:/bin LANG=C LC_ALL=C TZ=UTC HOME="$dir")
srv() { "${server_env[@]}" "${as_server[@]}" "$@"; }

# ---- state ------------------------------------------------------------------------------------

# The postmaster's PID when it is running for this data directory, else nothing.
server_pid() {
	local pid
	[ -f "$data/postmaster.pid" ] || return 0
	pid=$(head -1 "$data/postmaster.pid" 2>/dev/null || true)
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	kill -0 "$pid" 2>/dev/null || return 0
	# Same process: its command line names our data directory.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data" || return 0
	echo "$pid"
}

env_value() { # env_value KEY: from DIR/env (nothing when there is none)
	[ -f "$envfile" ] || return 0
	sed -n "s/^$1=//p" "$envfile" | head -1
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_busy() { # port_busy PORT: something listens on 127.0.0.1:PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_env() {
	local tmp=$envfile.tmp.$$
	{
		echo "PGHOST=127.0.0.1"
		echo "PGPORT=$1"
		echo "PGUSER=postgres"
		echo "PGDATABASE=postgres"
		echo "PGSOCKDIR=$dir"
		echo "PGDATA=$data"
		echo "PGLOG=$log"
		echo "PGBINDIR=$bindir"
	} >"$tmp"
	chmod 644 "$tmp"
	mv -f "$tmp" "$envfile"
}

ready() { # ready PORT: the server accepts connections on TCP and on the socket
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -t 2 &&
		"$bindir/pg_isready" -q -h "$dir" -p "$1" -U postgres -d postgres -t 2
}

# ---- commands ---------------------------------------------------------------------------------

do_status() {
	if [ -n "$(server_pid)" ]; then
		echo "running (PID $(server_pid), port $(env_value PGPORT))"
		return 0
	fi
	echo "stopped"
	return 3
}

do_init() {
	[ -f "$data/PG_VERSION" ] && return 0
	if [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
		die "$data exists and is not a PostgreSQL data directory: not touching it"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		chown "$run_user:$run_group" "$dir"
		chmod 755 "$dir"
		if ! srv test -w "$dir" -a -x "$dir"; then
			die "$run_user cannot reach $dir: its parent directories must be searchable" \
				"by $run_user (use a directory made by mktemp -d in /tmp)"
		fi
	fi
	if ! srv "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
		--no-locale --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed (output above, also in $dir/initdb.log)"
	fi
	# Our settings, after the defaults (the last one wins). The port is given at start.
	cat >>"$data/postgresql.conf" <<EOF

# ---- scripts/pg.sh ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
log_destination = 'stderr'
logging_collector = off
log_statement = 'all'
log_line_prefix = '%m [%p] %q%u@%d app=[%a] '
log_min_error_statement = error
log_connections = off
log_disconnections = off
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
	# Trust for local and 127.0.0.1 only (initdb --auth=trust also lists ::1).
	cat >"$data/pg_hba.conf" <<EOF
# scripts/pg.sh: trust, local and 127.0.0.1 only
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
EOF
}

do_start() {
	local pid p try
	pid=$(server_pid)
	if [ -n "$pid" ]; then
		p=$(env_value PGPORT)
		if [ -n "$p" ] && ready "$p"; then
			echo "$prog: already running (PID $pid, port $p, $envfile)"
			return 0
		fi
		die "a server (PID $pid) runs on $data but does not answer on port ${p:-?}: stop it first"
	fi
	do_init
	# A stale postmaster.pid (crash) would make pg_ctl refuse: the PID is not ours any more.
	[ ! -f "$data/postmaster.pid" ] || rm -f "$data/postmaster.pid"
	[ -e "$log" ] || { : >"$log" && chmod 644 "$log"; }
	[ "$(id -u)" -ne 0 ] || chown "$run_user:$run_group" "$log"
	for try in 1 2 3 4 5; do
		p=$port
		if [ -z "$p" ]; then
			p=$(env_value PGPORT) # the previous port when it is free
			if [ -z "$p" ] || [ "$try" -gt 1 ] || port_busy "$p"; then
				p=$(free_port)
			fi
		elif port_busy "$p"; then
			die "port $p is in use on 127.0.0.1"
		fi
		if srv "$bindir/pg_ctl" -D "$data" -l "$log" -o "-p $p" -w -t 60 -s start \
			>"$dir/pg_ctl.out" 2>&1; then
			for _ in $(seq 100); do
				ready "$p" && break
				sleep 0.1
			done
			ready "$p" || die "the server started but does not answer on port $p; see $log"
			write_env "$p"
			echo "$prog: running (PID $(server_pid), 127.0.0.1:$p, socket $dir/.s.PGSQL.$p," \
				"env $envfile)"
			return 0
		fi
		# Lost a race for the port? Then another one; anything else is fatal.
		if [ -z "$port" ] && tail -20 "$log" | grep -q "could not bind\|Address already in use"; then
			continue
		fi
		cat "$dir/pg_ctl.out" >&2
		tail -20 "$log" >&2 || true
		die "the server did not start (pg_ctl output and the end of $log above)"
	done
	die "no free port found after 5 tries"
}

do_stop() {
	local pid
	pid=$(server_pid)
	if [ -n "$pid" ]; then
		if ! srv "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 -s stop >"$dir/pg_ctl.out" 2>&1; then
			# pg_ctl failed: stop the postmaster by its PID (SIGINT = fast shutdown).
			kill -INT "$pid" 2>/dev/null || true
			for _ in $(seq 100); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				kill -QUIT "$pid" 2>/dev/null || true
				sleep 1
			fi
			if kill -0 "$pid" 2>/dev/null; then
				cat "$dir/pg_ctl.out" >&2
				die "the server (PID $pid) does not stop"
			fi
		fi
		echo "$prog: stopped (PID $pid)"
	else
		echo "$prog: not running ($data)"
	fi
	if [ "$remove" -eq 1 ]; then
		rm -rf "$data" "$envfile" "$log" "$dir/initdb.log" "$dir/pg_ctl.out"
		rmdir "$dir" 2>/dev/null || true
	fi
}

case "$cmd" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
esac
