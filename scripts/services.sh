#!/usr/bin/env bash
# Makes sure the local services Nurture's tests and `make run` use are up:
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, started from the
# Debian packages when they do not answer. Each argument names a database to
# create when it is missing:
#
#   scripts/services.sh nurture_test
#
# With --smtp it also makes sure something answers SMTP on 127.0.0.1:1025,
# starting Mailpit (UI on http://127.0.0.1:8025) when it is installed.
#
# With --chromium it also makes sure Debian's chromium is installed, for the
# preference page's browser test (api/browser_test.go, which skips without
# it, or fails under CI=true), installing it with apt-get (as root) when not.
set -euo pipefail

wait_for() { # description, command...
	local what=$1
	shift
	for _ in $(seq 1 60); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "services: $what did not answer within 30s" >&2
	return 1
}

port_open() { # port on 127.0.0.1
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

smtp=false
chromium=false
databases=()
for arg in "$@"; do
	case $arg in
	--smtp) smtp=true ;;
	--chromium) chromium=true ;;
	-*) echo "services: unknown option $arg" >&2; exit 2 ;;
	*) databases+=("$arg") ;;
	esac
done

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
	echo "services: starting PostgreSQL"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
	wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	echo "services: starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

for db in "${databases[@]}"; do
	if ! psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
		echo "services: creating database $db"
		createdb -h 127.0.0.1 -U postgres "$db"
	fi
done

if $smtp && ! port_open 1025; then
	if command -v mailpit >/dev/null; then
		echo "services: starting Mailpit (web UI on http://127.0.0.1:8025)"
		nohup mailpit --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 >/tmp/nurture-mailpit.log 2>&1 &
		wait_for Mailpit port_open 1025
	else
		echo "services: nothing answers SMTP on 127.0.0.1:1025; emails will not leave." >&2
		echo "services: install a catcher with: go install github.com/axllent/mailpit@v1.27.11" >&2
	fi
fi

if $chromium && ! command -v chromium >/dev/null; then
	echo "services: installing Chromium (Debian's chromium package)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
