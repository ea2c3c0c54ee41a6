#!/usr/bin/env bash
# Makes sure the services that `make test`, `make run` and the benchmarks use
# answer, and that their databases exist. Each argument names a service by
# the URL Nurture is given for it:
#
#   scripts/services.sh "$NURTURE_TEST_DATABASE_URL"
#   scripts/services.sh "$NURTURE_DATABASE_URL" "$NURTURE_REDIS_URL" "$NURTURE_SMTP_URL"
#
#   postgres://...  PostgreSQL answers, and the database of the URL exists
#                   (created when missing, on a server of this machine).
#   redis://...     Redis answers.
#   smtp://...      something answers SMTP there; on a loopback address,
#                   Mailpit is started when it is installed and nothing does.
#   NAME            the database NAME on the local default PostgreSQL, and
#                   the local default Redis (the benchmarks' short form; no
#                   argument at all means those two services alone).
#
# Only this machine's default services are ever started, from the Debian
# packages: PostgreSQL when the URL says 127.0.0.1, localhost or ::1 on port
# 5432, Redis the same on port 6379. Any other host or port is only checked:
# when it does not answer, or a database on another host is missing, the
# script says so and fails. It expects PostgreSQL to let the URL's user in
# (the local default trusts the user postgres).
#
# Options:
#   --dry-run            look, and print what would be done, changing nothing
#   --mailpit-ui ADDR    where Mailpit's web UI listens when it is started
#                        (default 127.0.0.1:8025)
#   --chromium           make sure Debian's chromium is installed, for the
#                        preference page's browser test (api/browser_test.go,
#                        which skips without it, or fails under CI=true),
#                        installing it with apt-get (as root) when not
set -euo pipefail

dry_run=false
chromium=false
mailpit_ui=127.0.0.1:8025
failed=0

say() { echo "services: $*"; }
problem() {
	echo "services: $*" >&2
	failed=1
}

# act runs a command that changes something, or in a dry run says it would.
act() { # description, command...
	local what=$1
	shift
	if $dry_run; then
		say "would $what"
		return 0
	fi
	say "$what"
	"$@"
}

wait_for() { # description, command...
	local what=$1
	shift
	$dry_run && return 0
	for _ in $(seq 1 60); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "services: $what did not answer within 30s" >&2
	return 1
}

port_open() { # host, port
	local host=${1#[}
	host=${host%]}
	# The inner shell expands $0 and $1 (host and port); timeout bounds a
	# host that drops packets.
	# shellcheck disable=SC2016
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$2" 2>/dev/null
}

# is_local_host: this machine's loopback names; an empty host is libpq's
# local socket.
is_local_host() {
	case $1 in
	"" | 127.0.0.1 | localhost | ::1 | "[::1]") return 0 ;;
	esac
	return 1
}

# parse_url sets scheme, userinfo (with its @), host, port, path (without
# the first /) and query (with its ?) from a URL, or fails.
parse_url() {
	local re='^([a-z][a-z0-9+.-]*)://(([^@/?#]*)@)?(\[[^]/?#]*\]|[^]:/?#[]*)(:([0-9]*))?(/([^?#]*))?(\?([^#]*))?$'
	[[ $1 =~ $re ]] || return 1
	scheme=${BASH_REMATCH[1]}
	userinfo=${BASH_REMATCH[2]}
	host=${BASH_REMATCH[4]}
	port=${BASH_REMATCH[6]}
	path=${BASH_REMATCH[8]}
	query=${BASH_REMATCH[9]}
}

# url_decode decodes %XX escapes (a database name may have them).
url_decode() {
	local s=${1//\\/\\\\}
	printf '%b' "${s//%/\\x}"
}

# A URL whose query names another host or port (libpq's host=, port=) is
# not what it seems: it is only checked, never acted on by its host.
query_redirects() {
	local re='[?&](host|hostaddr|port)='
	[[ $1 =~ $re ]]
}

check_postgres() { # URL
	local url=$1 scheme userinfo host port path query
	if ! parse_url "$url" || [[ $scheme != postgres && $scheme != postgresql ]]; then
		problem "not a PostgreSQL URL: $url (want postgres://user@host:5432/dbname)"
		return
	fi
	port=${port:-5432}
	local where=${host:-localhost}:$port on_this_machine=false default=false
	if is_local_host "$host" && ! query_redirects "$query"; then
		on_this_machine=true
		[[ $port == 5432 && -n $host ]] && default=true
	fi
	local db
	db=$(url_decode "$path")
	if ! pg_isready -q -t 3 -d "$url"; then
		if ! $default; then
			problem "PostgreSQL at $where does not answer; start it yourself (only 127.0.0.1:5432 is started here)"
			return
		fi
		# The newest installed cluster version (Debian names them 15, 16, ...).
		# shellcheck disable=SC2012
		act "start PostgreSQL on 127.0.0.1:5432" \
			pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
		wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 || {
			failed=1
			return
		}
		if $dry_run; then
			if [[ -n $db ]]; then
				say "would create database $db on $where if it is missing"
			fi
			return 0
		fi
	fi
	[[ -n $db ]] || return 0
	# A database one can connect to exists; that is all a server elsewhere
	# may let its users see.
	if psql "$url" -X -q -t -A -c 'SELECT 1' >/dev/null 2>&1; then
		return 0
	fi
	# Else look for it from the server's maintenance database, with the
	# URL's user and options; the name travels as a psql variable, quoted by
	# psql itself, never spliced into the SQL.
	local admin="$scheme://$userinfo$host${port:+:$port}/postgres$query"
	local exists
	if ! exists=$(printf '%s\n' "SELECT count(*) FROM pg_database WHERE datname = :'db';" |
		psql "$admin" -X -q -t -A -v ON_ERROR_STOP=1 -v db="$db" 2>&1); then
		problem "cannot look for database $db at $where: $exists"
		return
	fi
	[[ $exists == 1 ]] && return 0
	if ! $on_this_machine; then
		problem "database $db does not exist at $where; create it there (createdb) or point the URL at one that does"
		return
	fi
	if $dry_run; then
		say "would create database $db on $where"
		return
	fi
	say "creating database $db on $where"
	local out
	if ! out=$(printf '%s\n' 'CREATE DATABASE :"db";' |
		psql "$admin" -X -q -v ON_ERROR_STOP=1 -v db="$db" 2>&1); then
		problem "create database $db at $where: $out"
	fi
}

check_redis() { # URL
	local url=$1 scheme userinfo host port path query
	if ! parse_url "$url" || [[ $scheme != redis && $scheme != rediss ]]; then
		problem "not a Redis URL: $url (want redis://host:6379/0)"
		return
	fi
	port=${port:-6379}
	local where=${host:-localhost}:$port tls=()
	[[ $scheme == rediss ]] && tls=(--tls)
	if [[ $(redis-cli "${tls[@]}" -u "$url" ping 2>/dev/null) == PONG ]]; then
		return 0
	fi
	if ! is_local_host "$host" || [[ -z $host || $port != 6379 || $scheme != redis ]]; then
		problem "Redis at $where does not answer; start it yourself (only 127.0.0.1:6379 is started here)"
		return
	fi
	act "start Redis on 127.0.0.1:6379" \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping || failed=1
}

check_smtp() { # URL
	local url=$1 scheme userinfo host port path query
	if ! parse_url "$url" || [[ $scheme != smtp && $scheme != smtps ]] || [[ -z $host ]]; then
		problem "not an SMTP URL: $url (want smtp://host:1025)"
		return
	fi
	if [[ -z $port ]]; then
		port=25
		[[ $scheme == smtps ]] && port=465
	fi
	local where=$host:$port
	port_open "$host" "$port" && return 0
	if ! is_local_host "$host"; then
		# Not fatal: the engine runs, and retries the email until it answers.
		echo "services: nothing answers SMTP at $where; emails will wait until it does" >&2
		return 0
	fi
	if ! command -v mailpit >/dev/null; then
		echo "services: nothing answers SMTP at $where; emails will wait until it does." >&2
		echo "services: install a catcher with: go install github.com/axllent/mailpit@v1.27.11" >&2
		return 0
	fi
	local listen=${host#[}
	listen=${listen%]}
	[[ $listen == *:* ]] && listen="[$listen]"
	if $dry_run; then
		say "would start Mailpit: SMTP on $listen:$port, web UI on http://$mailpit_ui"
		return 0
	fi
	say "starting Mailpit: SMTP on $listen:$port, web UI on http://$mailpit_ui (log: /tmp/nurture-mailpit.log)"
	nohup mailpit --smtp "$listen:$port" --listen "$mailpit_ui" >/tmp/nurture-mailpit.log 2>&1 &
	wait_for Mailpit port_open "$host" "$port" || problem "Mailpit did not start; see /tmp/nurture-mailpit.log"
}

targets=()
while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	--chromium) chromium=true ;;
	--mailpit-ui)
		[[ $# -ge 2 ]] || {
			echo "services: --mailpit-ui wants HOST:PORT" >&2
			exit 2
		}
		mailpit_ui=$2
		shift
		;;
	--mailpit-ui=*) mailpit_ui=${1#*=} ;;
	-*)
		echo "services: unknown option $1" >&2
		exit 2
		;;
	*) targets+=("$1") ;;
	esac
	shift
done

# The short forms: a bare database name, or nothing at all, mean the local
# defaults, as the benchmark scripts expect.
urls=()
bare=false
for t in "${targets[@]}"; do
	if [[ $t == *://* ]]; then
		urls+=("$t")
	else
		bare=true
		urls+=("postgres://postgres@127.0.0.1:5432/$t?sslmode=disable")
	fi
done
if $bare || [[ ${#targets[@]} -eq 0 ]]; then
	[[ ${#targets[@]} -eq 0 ]] && urls+=("postgres://postgres@127.0.0.1:5432/?sslmode=disable")
	urls+=("redis://127.0.0.1:6379/0")
fi

for url in "${urls[@]}"; do
	case $url in
	postgres://* | postgresql://*) check_postgres "$url" ;;
	redis://* | rediss://*) check_redis "$url" ;;
	smtp://* | smtps://*) check_smtp "$url" ;;
	*) problem "cannot tell which service $url is (want postgres://, redis:// or smtp://)" ;;
	esac
done

if $chromium && ! command -v chromium >/dev/null; then
	act "install Chromium (Debian's chromium package)" bash -c \
		'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'
fi
exit $failed
