#!/usr/bin/env bash
# Entrypoint of the postgres:17 stand-in that `mastery images prepare` builds when no registry answers.
#
# It keeps the contract of the official image that lessons and compose labs lean on, nothing more:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default: the user),
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), POSTGRES_INITDB_ARGS, and a NAME_FILE twin for
#   each (Docker secrets: POSTGRES_PASSWORD_FILE=/run/secrets/db_password);
#   an empty $PGDATA is initialised once (initdb as the postgres user, the database created, the
#   scripts in /docker-entrypoint-initdb.d run); a $PGDATA that holds a cluster is simply started;
#   the server is PID 1 as user postgres, listens on every address and logs to stderr.
# Any command other than `postgres` (psql, pg_isready, bash) runs as given.
# No `set -u`: scripts in /docker-entrypoint-initdb.d are sourced into this shell, as in the official image.
set -Eeo pipefail

INITDB_DIR=/docker-entrypoint-initdb.d
SOCKET_DIR=/var/run/postgresql

log() { printf '%s\n' "$*"; }

# Sets NAME from $NAME, else from the file $NAME_FILE points at, else from the default; then forgets
# NAME_FILE. Setting both is an error: which one wins would be a guess.
from_env_or_file() {
	local name="$1" default="${2:-}" file_var="${1}_FILE"
	local value="$default"
	if [ -n "${!name:-}" ] && [ -n "${!file_var:-}" ]; then
		log "error: both $name and $file_var are set; set only one of them." >&2
		exit 1
	fi
	if [ -n "${!name:-}" ]; then
		value="${!name}"
	elif [ -n "${!file_var:-}" ]; then
		if [ ! -r "${!file_var}" ]; then
			log "error: $file_var names ${!file_var}, which cannot be read." >&2
			exit 1
		fi
		value="$(<"${!file_var}")"
	fi
	export "$name=$value"
	unset "$file_var"
}

read_settings() {
	from_env_or_file POSTGRES_PASSWORD
	from_env_or_file POSTGRES_USER postgres
	from_env_or_file POSTGRES_DB "$POSTGRES_USER"
	from_env_or_file POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	export POSTGRES_HOST_AUTH_METHOD
}

# As root: make the data and socket folders the postgres user's, so a fresh named volume works.
own_folders() {
	mkdir -p "$PGDATA" "$SOCKET_DIR"
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 700 "$PGDATA" || :  # some bind mounts refuse; initdb then says what is wrong
	chown postgres:postgres "$SOCKET_DIR"
	chmod 3777 "$SOCKET_DIR"
}

refuse_without_password() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'MESSAGE'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE, e.g. a Docker secret) to a
			       non-empty value, for example -e POSTGRES_PASSWORD=... with docker run.
			       POSTGRES_HOST_AUTH_METHOD=trust lets anyone in without a password: for
			       throw-away experiments only.
		MESSAGE
		exit 1
	fi
}

create_cluster() {
	local -a extra=()
	# Plain word splitting, no quotes inside: enough for flags such as --data-checksums --locale=C.
	read -r -a extra <<<"$POSTGRES_INITDB_ARGS"
	if [ -n "$POSTGRES_PASSWORD" ]; then
		initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${extra[@]}"
	else
		initdb --username="$POSTGRES_USER" "${extra[@]}"
	fi
	# Inside the container (unix socket, loopback) initdb's trust rules stay; every other host must
	# authenticate with the chosen method.
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

# A server on the unix socket only, so no client can connect before initialisation is over.
start_private_server() {
	local options
	options="$(printf '%q ' -c listen_addresses= -p "${PGPORT:-5432}" "$@")"
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "$options" -w start
}

stop_private_server() {
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
}

sql() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

create_database() {
	sql --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
		SELECT format('CREATE DATABASE %I', :'db')
		 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
	SQL
}

run_init_scripts() {
	local file
	for file in "$INITDB_DIR"/*; do
		[ -e "$file" ] || continue
		case "$file" in
			*.sh)
				if [ -x "$file" ]; then
					log "$0: running $file"
					"$file"
				else
					log "$0: sourcing $file"
					# shellcheck disable=SC1090
					. "$file"
				fi
				;;
			*.sql) log "$0: running $file"; sql --dbname "$POSTGRES_DB" -f "$file" ;;
			*.sql.gz) log "$0: running $file"; gunzip -c "$file" | sql --dbname "$POSTGRES_DB" ;;
			*.sql.xz) log "$0: running $file"; xzcat "$file" | sql --dbname "$POSTGRES_DB" ;;
			*.sql.zst) log "$0: running $file"; zstd -dc "$file" | sql --dbname "$POSTGRES_DB" ;;
			*) log "$0: ignoring $file" ;;
		esac
	done
}

initialise() {
	refuse_without_password
	create_cluster
	export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
	start_private_server "$@"
	create_database
	run_init_scripts
	stop_private_server
	unset PGPASSWORD
	log "PostgreSQL init process complete; ready for start up."
}

# `postgres --version` and friends only print: no reason to initialise a cluster for them.
only_asks_for_help() {
	local arg
	for arg in "$@"; do
		case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
	done
	return 1
}

main() {
	if [ "${1:0:1}" = - ]; then
		set -- postgres "$@"
	fi
	if [ "$1" != postgres ] || only_asks_for_help "$@"; then
		exec "$@"
	fi
	read_settings
	if [ "$(id -u)" = 0 ]; then
		own_folders
		HOME="$(getent passwd postgres | cut -d: -f6)"
		export HOME
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ -s "$PGDATA/PG_VERSION" ]; then
		log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
	else
		initialise "${@:2}"
	fi
	exec "$@"
}

main "$@"
