#!/usr/bin/env bash
# Entrypoint of the registry-free test image `vectra-test-postgres:15`
# (built by scripts/build-test-image.sh --debian from Debian's postgresql-15 and
# postgresql-15-pgtap packages).
#
# It mimics the contract of the official `postgres` image closely enough for
# testcontainers and for `docker run`:
#
#   POSTGRES_USER              superuser name                (default: postgres)
#   POSTGRES_PASSWORD          its password; required unless
#                              POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_DB                database created at init      (default: $POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD  auth for TCP connections      (default: scram-sha-256)
#   POSTGRES_INITDB_ARGS       extra arguments for initdb
#   POSTGRES_INITDB_WALDIR     --waldir for initdb
#   PGDATA                     data directory                (image: /var/lib/postgresql/data)
#   *_FILE variants            POSTGRES_PASSWORD_FILE etc. read the value from a file
#
# `docker run IMAGE postgres -c fsync=off ...` (or just `-c fsync=off ...`)
# starts the server with those arguments, exactly like the official image; any
# other command is exec'd as is.
#
# Differences from the official image, on purpose:
#
#   * NO TEMPORARY SERVER.  The official entrypoint initialises through a
#     temporary server (pg_ctl start ... stop), so its log shows
#     "database system is ready to accept connections" TWICE (once on stdout,
#     from the temporary server, once on stderr from the real one).  Here the
#     cluster is created by `initdb` alone and POSTGRES_DB is created in
#     single-user mode (`postgres --single`), which never opens a socket and
#     never prints that line.  So the line appears ONCE, on stderr, exactly
#     when the real server accepts connections: a test harness can wait for the
#     first occurrence on stderr and connect.
#   * /docker-entrypoint-initdb.d: `*.sh` files are run (executable) or sourced,
#     `*.sql` / `*.sql.gz` files are fed to single-user mode
#     (`postgres --single -j`: plain SQL only, no psql meta-commands, commands
#     separated by ";" + an empty line); there is no server to connect to while
#     they run, so scripts that call psql do not work.
#   * initdb runs with --no-sync (test clusters are throw-away).
#   * The locale is C.UTF-8 (built into glibc; no `locales` generation needed).
#   * No VOLUME is declared by the image, so throw-away test containers leave
#     no anonymous volumes behind.
#
# The script starts as root, prepares directories, then re-executes itself as
# the `postgres` OS user (uid/gid 999 as in the official image) with `setpriv`
# (util-linux; exec, no fork, so postgres ends up as PID 1 and gets the
# signals).  Started directly as a non-root user (`docker run --user ...`) it
# just skips the root part.
set -Eeo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# file_env VAR [DEFAULT]: VAR or VAR_FILE (contents of that file), not both.
file_env() {
    local var="$1" fileVar="${1}_FILE" def="${2:-}"
    if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
        die "both $var and $fileVar are set (but are exclusive)"
    fi
    local val="$def"
    if [ "${!var:-}" ]; then
        val="${!var}"
    elif [ "${!fileVar:-}" ]; then
        val="$(<"${!fileVar}")"
    fi
    export "$var"="$val"
    unset "$fileVar"
}

# SQL helpers for values we splice into statements run in single-user mode.
sql_ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }

setup_env() {
    : "${PGDATA:=/var/lib/postgresql/data}"
    export PGDATA
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    export POSTGRES_HOST_AUTH_METHOD
    DATABASE_ALREADY_EXISTS=
    if [ -s "$PGDATA/PG_VERSION" ]; then
        DATABASE_ALREADY_EXISTS=true
    fi
}

# Runs as root: create the directories the server needs and hand them over.
create_dirs_as_root() {
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql
    chmod 03775 /var/run/postgresql || :
    if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
        mkdir -p "$POSTGRES_INITDB_WALDIR"
        find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
        chmod 700 "$POSTGRES_INITDB_WALDIR"
    fi
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
}

verify_minimum_env() {
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOM
        exit 1
    fi
    if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
        log "WARNING: POSTGRES_PASSWORD is 100+ characters long"
    fi
    if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
        log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: TCP connections need no password"
    fi
}

init_database_dir() {
    local -a args=(
        --username="$POSTGRES_USER"
        --encoding=UTF8
        --locale=C.UTF-8
        --auth-local=trust
        --auth-host="$POSTGRES_HOST_AUTH_METHOD"
    )
    if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
        args+=(--waldir="$POSTGRES_INITDB_WALDIR")
    fi
    local pwfile=
    if [ -n "$POSTGRES_PASSWORD" ]; then
        # The password goes through a private file (never on a command line).
        pwfile=$(mktemp)
        chmod 600 "$pwfile"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
        args+=(--pwfile="$pwfile")
    fi
    log "initdb: superuser '$POSTGRES_USER', database '$POSTGRES_DB', host auth $POSTGRES_HOST_AUTH_METHOD"
    # POSTGRES_INITDB_ARGS is word-split on purpose (like the official image);
    # being last, its options override ours.
    # --no-sync: a throw-away test cluster need not be fsync'ed (saves ~1 s).
    # shellcheck disable=SC2086
    if ! initdb "${args[@]}" --no-sync $POSTGRES_INITDB_ARGS; then
        [ -z "$pwfile" ] || rm -f "$pwfile"
        die "initdb failed"
    fi
    [ -z "$pwfile" ] || rm -f "$pwfile"
}

configure_server() {
    # Local (unix socket) connections: trust, written by initdb above.
    # Everything over TCP, from any address: $POSTGRES_HOST_AUTH_METHOD.
    {
        printf '\n# added by docker-entrypoint.sh\n'
        printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
    } >>"$PGDATA/pg_hba.conf"
    # In postgresql.conf (not postgresql.auto.conf, which ALTER SYSTEM owns).
    {
        printf '\n# added by docker-entrypoint.sh\n'
        printf "listen_addresses = '*'\n"
    } >>"$PGDATA/postgresql.conf"
}

# single_user_sql DBNAME < statements: run SQL in single-user mode (no server,
# no socket, no "ready to accept connections" line).  With -j a command ends at
# ";" followed by an EMPTY line (so everything between empty lines is sent as
# one multi-statement query, like `psql -c`).  The single-user backend keeps
# going after an error and still exits 0, so its log is checked for
# ERROR/FATAL/PANIC (log_line_prefix is emptied to make that reliable).
single_user_sql() {
    local db="$1" out
    out=$(postgres --single -j -D "$PGDATA" \
            -c listen_addresses='' -c log_line_prefix='' \
            -c log_min_messages=warning -c log_checkpoints=off \
            "$db" 2>&1 >/dev/null) || { printf '%s\n' "$out" >&2; return 1; }
    if printf '%s\n' "$out" | grep -Eq '(^|[] ])(ERROR|FATAL|PANIC):  '; then
        printf '%s\n' "$out" >&2
        return 1
    fi
    [ -z "$out" ] || printf '%s\n' "$out" >&2
}

create_database() {
    if [ "$POSTGRES_DB" = postgres ]; then
        return 0
    fi
    log "creating database '$POSTGRES_DB' (single-user mode)"
    printf 'CREATE DATABASE %s;\n' "$(sql_ident "$POSTGRES_DB")" \
        | single_user_sql postgres || die "could not create database '$POSTGRES_DB'"
}

run_init_scripts() {
    local dir=/docker-entrypoint-initdb.d f
    [ -d "$dir" ] || return 0
    for f in "$dir"/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    log "running $f"
                    "$f"
                else
                    log "sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql)
                log "running $f (single-user mode)"
                single_user_sql "$POSTGRES_DB" <"$f" || die "$f failed"
                ;;
            *.sql.gz)
                log "running $f (single-user mode)"
                gunzip -c "$f" | single_user_sql "$POSTGRES_DB" || die "$f failed"
                ;;
            *)
                log "ignoring $f"
                ;;
        esac
    done
}

# True when the arguments are meant for the postgres server itself.
is_server_command() {
    [ "${1:-}" = postgres ] || [ "${1:-}" = postmaster ]
}

main() {
    # `docker run IMAGE -c fsync=off` == `docker run IMAGE postgres -c fsync=off`
    if [ "${1:0:1}" = '-' ]; then
        set -- postgres "$@"
    fi

    if ! is_server_command "$@"; then
        exec "$@"
    fi

    # Server help/version queries need no cluster.
    local arg
    for arg in "$@"; do
        case "$arg" in
            -'?'|--help|--describe-config|-V|--version) exec "$@" ;;
        esac
    done

    setup_env

    if [ "$(id -u)" = 0 ]; then
        create_dirs_as_root
        # Re-run this script as postgres (exec: no extra process stays around).
        exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi

    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
        verify_minimum_env
        # Started as non-root (docker run --user): initdb needs a passwd entry
        # for that uid (postgres = 999 has one) and a writable PGDATA.
        init_database_dir
        configure_server
        create_database
        run_init_scripts
        log "PostgreSQL init process complete; starting the server"
    else
        log "PostgreSQL data directory appears to contain a database; skipping initialization"
    fi

    # The one and only server start: its "database system is ready to accept
    # connections" line (stderr) is the single readiness signal.
    exec "$@"
}

main "$@"
