#!/usr/bin/env bash
# Runs tests through a pgbouncer of their own in transaction pooling mode
# (issue 18): `make test-pgbouncer`, or scripts/pgbouncer-test.sh [packages].
#
# NURTURE_TEST_DATABASE_URL (default: the local nurture_test) names
# PostgreSQL itself. The script starts Debian's pgbouncer (1.18) with a
# configuration and an auth file in a directory of its own, on a free
# loopback port, in front of that server; runs `go test -race -count=1` of
# the packages given (default ./...) with NURTURE_TEST_DATABASE_URL pointing
# at pgbouncer and NURTURE_TEST_DATABASE_DIRECT_URL at PostgreSQL (testkit
# holds and resets its schemas there, see internal/testkit); then stops it.
#
# pgbouncer lets in any role PostgreSQL has (auth_type trust, with
# auth_query through the direct URL's user): each test logs in as the role
# of its schema. PostgreSQL must trust loopback connections, as the local
# test server does.
set -euo pipefail
cd "$(dirname "$0")/.."

direct=${NURTURE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/nurture_test?sslmode=disable}
re='^postgres(ql)?://([^:@/]+)(:[^@/]*)?@([^:/?]+)(:([0-9]+))?/([^?]+)'
if [[ ! $direct =~ $re ]]; then
	echo "pgbouncer-test: NURTURE_TEST_DATABASE_URL=$direct: want postgres://user@host[:port]/dbname" >&2
	exit 2
fi
user=${BASH_REMATCH[2]} host=${BASH_REMATCH[4]} port=${BASH_REMATCH[6]:-5432} db=${BASH_REMATCH[7]}
command -v pgbouncer >/dev/null || {
	echo "pgbouncer-test: no pgbouncer here (apt-get install -y pgbouncer)" >&2
	exit 2
}

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
listen=${PGBOUNCER_PORT:-16432}
while in_use "$listen"; do listen=$((listen + 1)); done

dir=$(mktemp -d /tmp/nurture-pgbouncer.XXXXXX)
pid=
sampler=
stop() {
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
	fi
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap stop EXIT

max_db=40
printf '"%s" ""\n' "$user" >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir =
pool_mode = transaction
auth_type = trust
auth_file = $dir/userlist.txt
auth_user = $user
; SHOW POOLS, SHOW CLIENTS: psql -p <port> -U <user> pgbouncer
admin_users = $user
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
; every test binary opens pools of its own: many clients, few servers
max_client_conn = 2000
default_pool_size = 8
; the shared PostgreSQL allows 100 connections in all
max_db_connections = $max_db
; a finished test's role keeps no server connection for long
server_idle_timeout = 5
query_wait_timeout = 120
log_connections = 0
log_disconnections = 0
logfile = $dir/pgbouncer.log
EOF

# pgbouncer will not run as root: it then runs as postgres.
as=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres "$dir"
	as=(-u postgres)
fi
pgbouncer -q "${as[@]}" "$dir/pgbouncer.ini" &
pid=$!
for _ in $(seq 100); do
	in_use "$listen" && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/pgbouncer.log" >&2; exit 1; }
	sleep 0.1
done

# show NAME: pgbouncer's SHOW NAME as name=value lines, a row a line.
show() {
	psql -h 127.0.0.1 -p "$listen" -U "$user" -X -A -F'|' -c "SHOW $1" pgbouncer 2>/dev/null |
		awk -F'|' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next } NF > 1 { l = ""; for (i = 1; i <= NF; i++) l = l " " h[i] "=" $i; print substr(l, 2) }'
}

# sample records, every 2 seconds, the server connections pgbouncer holds
# and every pool whose clients wait for one (SHOW POOLS), so that a failed
# run says whether pgbouncer queued the tests; summary prints what it saw.
sample() {
	set +e # a sample that finds nothing (no pool yet) is no reason to stop
	while sleep 2; do
		echo "at $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
		show databases | grep -F "name=$db "
		show pools | grep -v ' cl_waiting=0 '
	done >"$dir/samples.log"
}
summary() {
	awk '
		/^at / { n++; load[n] = $4 }
		/current_connections=/ { match($0, /current_connections=[0-9]+/); c = substr($0, RSTART + 20, RLENGTH - 20) + 0; if (c > peak) peak = c }
		/cl_waiting=/ { match($0, /maxwait=[0-9]+/); w = substr($0, RSTART + 8, RLENGTH - 8); match($0, /maxwait_us=[0-9]+/); w += substr($0, RSTART + 11, RLENGTH - 11) / 1e6
			waiting[n] = 1; if (w > longest) longest = w }
		END { for (i in waiting) k++
			printf "pgbouncer: %d samples (every 2 s): clients waited for a server in %d; longest wait %.3f s; at most %d server connections (max_db_connections %d)\n", n, k, longest, peak, maxdb }
	' maxdb="$max_db" "$dir/samples.log"
}

pooled=$(sed -E "s#@[^/]+/#@127.0.0.1:$listen/#" <<<"$direct")
echo "pgbouncer $(pgbouncer --version | head -1 | cut -d' ' -f2) in transaction mode on 127.0.0.1:$listen in front of $host:$port"
[ $# -gt 0 ] || set -- ./...
if command -v psql >/dev/null; then
	sample &
	sampler=$!
fi
rc=0
NURTURE_TEST_DATABASE_URL=$pooled NURTURE_TEST_DATABASE_DIRECT_URL=$direct \
	${GO:-go} test -race -count=1 "$@" || rc=$?
if [ -n "$sampler" ]; then
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	sampler=
	summary
fi
if [ "$rc" != 0 ]; then
	echo "pgbouncer-test: tests failed; pgbouncer's errors:" >&2
	grep -E 'ERROR|WARNING' "$dir/pgbouncer.log" | tail -20 >&2 || true
fi
exit "$rc"
