#!/bin/bash
# Runs the command (by default `mariadbd`, as user mysql, on all interfaces). When /var/lib/mysql holds no
# database yet, makes one first and gives the server an init file, as the official image does:
#   MARIADB_ROOT_PASSWORD  root's password, for local and TCP clients; unset: root has none and only
#                          connects locally
#   MARIADB_DATABASE       a database to create
#   MARIADB_USER, MARIADB_PASSWORD  a user for TCP clients, with every right on MARIADB_DATABASE
set -euo pipefail
datadir=/var/lib/mysql

sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"; }
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

# The statements that set the database up, for --init-file.
init_sql() {
    if [[ -n ${MARIADB_ROOT_PASSWORD:-} ]]; then
        local password
        password=$(sql_string "$MARIADB_ROOT_PASSWORD")
        echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD($password);"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY $password;"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    fi
    if [[ -n ${MARIADB_DATABASE:-} ]]; then
        echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$MARIADB_DATABASE");"
    fi
    if [[ -n ${MARIADB_USER:-} ]]; then
        echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "${MARIADB_PASSWORD:-}");"
        if [[ -n ${MARIADB_DATABASE:-} ]]; then
            echo "GRANT ALL ON $(sql_name "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';"
        fi
    fi
}

if [[ ${1:-} == mariadbd ]]; then
    # Clients come from the bridge's gateway (docker-proxy): resolving that address, before the greeting
    # of each connection, would wait 10 s for a name server the container cannot reach.
    set -- "$@" --user=mysql --bind-address=0.0.0.0 --skip-name-resolve
    if [[ ! -d $datadir/mysql ]]; then
        chown mysql:mysql "$datadir"
        mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >/dev/null
        init_sql >/run/mysqld/init.sql
        chown mysql:mysql /run/mysqld/init.sql
        set -- "$@" --init-file=/run/mysqld/init.sql
    fi
fi
exec "$@"
