#!/bin/sh
# Writes PgBouncer's configuration from the environment and runs it in the
# foreground: transaction pooling, SCRAM to clients and to the server.
set -eu
conf=/tmp/pgbouncer
mkdir -p "$conf"
cat >"$conf/pgbouncer.ini" <<INI
[databases]
vectra = host=${DB_HOST} port=${DB_PORT:-5432} dbname=vectra
[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $conf/userlist.txt
pool_mode = transaction
default_pool_size = ${DEFAULT_POOL_SIZE:-20}
max_client_conn = ${MAX_CLIENT_CONN:-1000}
server_reset_query =
INI
printf '"vectra_authenticator" "%s"\n' "$AUTHENTICATOR_PASSWORD" >"$conf/userlist.txt"
chmod 600 "$conf/userlist.txt"
exec pgbouncer "$conf/pgbouncer.ini"
