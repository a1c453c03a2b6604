#!/bin/bash
# Runs the command (by default `postgres`) as user postgres. When $PGDATA holds no cluster yet, makes one
# first, as the official image does:
#   POSTGRES_USER      its superuser (default postgres)
#   POSTGRES_PASSWORD  that user's password, asked (scram-sha-256) of TCP clients; unset: TCP clients are trusted
#   POSTGRES_DB        a database created for it (default $POSTGRES_USER)
set -euo pipefail

if [[ $(id -u) == 0 ]]; then
    # A mounted data folder belongs to whoever made it on the host: hand it to postgres, then drop root.
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

initialise() {
    local user=${POSTGRES_USER:-postgres} auth=trust password_file=""
    local database=${POSTGRES_DB:-$user}
    if [[ -n ${POSTGRES_PASSWORD:-} ]]; then
        auth=scram-sha-256
        password_file=$(mktemp)
        printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    else
        echo "runyard-postgres: POSTGRES_PASSWORD is unset: TCP clients connect without a password" >&2
    fi
    initdb -D "$PGDATA" --username="$user" ${password_file:+"--pwfile=$password_file"} --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" --no-instructions
    [[ -z $password_file ]] || rm -f "$password_file"
    printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    if [[ $database != postgres ]]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres --set=database="$database" \
            <<<'CREATE DATABASE :"database";'
        pg_ctl -D "$PGDATA" -m fast -w stop
    fi
}

if [[ ${1:-} == postgres && ! -s $PGDATA/PG_VERSION ]]; then
    initialise
fi
exec "$@"
