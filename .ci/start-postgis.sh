#!/usr/bin/env bash
# Start a throw-away PostgreSQL + PostGIS server on 127.0.0.1 for the client tests and
# export its URL as SPATIALPROG_TEST_PG, e.g.
#   postgresql://postgres:postgres@127.0.0.1:5432/spatialprog_test
#
# Either form works:
#   source .ci/start-postgis.sh              # exports SPATIALPROG_TEST_PG in this shell
#   eval "$(bash .ci/start-postgis.sh)"      # stdout is one line: export SPATIALPROG_TEST_PG=...
# Sourcing never changes the caller's shell options and never exits the caller.
#
# Uses its own Debian cluster "<major>/spatialprog" (pg_createcluster), separate from
# "main": loopback only, scram password auth, fsync off (test data only).  Idempotent:
# an already-running cluster is reused; a stopped one is started (on another port if its
# own is taken).  If SPATIALPROG_TEST_PG is already set and answers, nothing is started.
# Not root / no PostgreSQL / no PostGIS installed -> prints the reason, exports nothing,
# status 0 (the PostGIS tests then skip).  Installed but failing to start -> status 1.
#
# Settings: SPATIALPROG_PG_PORT (default 5432, else the next free port),
#           SPATIALPROG_PG_CLUSTER (default spatialprog), SPATIALPROG_PG_DB (spatialprog_test),
#           SPATIALPROG_PG_PASSWORD (default postgres).

_spatialprog_start_postgis() (
    set -euo pipefail
    log() { printf '[start-postgis] %s\n' "$*" >&2; }
    cd /tmp  # psql run as postgres warns when it cannot read the cwd

    db="${SPATIALPROG_PG_DB:-spatialprog_test}"
    cluster="${SPATIALPROG_PG_CLUSTER:-spatialprog}"
    password="${SPATIALPROG_PG_PASSWORD:-postgres}"

    if [ -n "${SPATIALPROG_TEST_PG:-}" ] && command -v psql >/dev/null 2>&1 \
        && PGCONNECT_TIMEOUT=5 psql -X -q -tA -d "$SPATIALPROG_TEST_PG" \
            -c "SELECT postgis_lib_version()" >/dev/null 2>&1; then
        log "SPATIALPROG_TEST_PG already set and answering; starting nothing"
        echo "$SPATIALPROG_TEST_PG"; return 0
    fi
    if [ "$(id -u)" != 0 ]; then log "SKIP: not root"; return 0; fi
    if ! command -v pg_createcluster >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "SKIP: PostgreSQL (Debian postgresql-common) not installed; run .ci/install-clients.sh"
        return 0
    fi
    # Newest installed server major version that also has PostGIS 3.
    ver=""
    for v in $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -rn); do
        if [ -x "/usr/lib/postgresql/$v/bin/postgres" ] \
            && [ -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then
            ver="$v"; break
        fi
    done
    if [ -z "$ver" ]; then
        log "SKIP: no PostgreSQL server with PostGIS installed (postgresql-NN-postgis-3); run .ci/install-clients.sh"
        return 0
    fi

    port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
    free_port() {
        local p="${SPATIALPROG_PG_PORT:-5432}" i
        for i in $(seq 0 50); do
            if ! port_busy $((p + i)); then echo $((p + i)); return 0; fi
        done
        log "no free port in $p..$((p + 50))"; return 1
    }
    conf="/etc/postgresql/$ver/$cluster"

    if [ ! -d "$conf" ]; then
        port=$(free_port)
        log "creating cluster $ver/$cluster on 127.0.0.1:$port"
        pg_createcluster --start-conf=manual --port="$port" --locale=C.UTF-8 --encoding=UTF8 \
            "$ver" "$cluster" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    fi
    port=$(pg_conftool -s "$ver" "$cluster" show port)

    if pg_ctlcluster "$ver" "$cluster" status >/dev/null 2>&1; then
        log "cluster $ver/$cluster already running on port $port"
    else
        want=$(free_port)  # first free port from SPATIALPROG_PG_PORT (5432) up
        if [ "$want" != "$port" ]; then
            log "cluster $ver/$cluster: port $port -> $want"
            pg_conftool "$ver" "$cluster" set port "$want"
            port="$want"
        fi
        # (re)written on every start, so a hand-edited or half-made cluster heals
        mkdir -p "$conf/conf.d"
        cat >"$conf/conf.d/90-spatialprog-test.conf" <<'CONF'
# written by spatialprog .ci/start-postgis.sh -- a throw-away test server
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
        log "starting cluster $ver/$cluster on 127.0.0.1:$port"
        if ! pg_ctlcluster "$ver" "$cluster" start; then
            tail -n 20 "/var/log/postgresql/postgresql-$ver-$cluster.log" >&2 || true
            log "FAILED to start PostgreSQL"; return 1
        fi
    fi
    for _ in $(seq 1 60); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.5
    done
    pg_isready -q -h 127.0.0.1 -p "$port" || { log "PostgreSQL not ready on 127.0.0.1:$port"; return 1; }

    psql_pg() {
        runuser -u postgres -- env PGOPTIONS='-c client_min_messages=warning' \
            psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"
    }
    psql_pg -d postgres -c "ALTER ROLE postgres PASSWORD '$password'" >/dev/null
    if [ "$(psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        psql_pg -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
    fi
    psql_pg -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    pgis=$(psql_pg -d "$db" -tAc "SELECT postgis_lib_version()")
    log "ready: PostgreSQL $ver, PostGIS $pgis, database $db on 127.0.0.1:$port"
    echo "postgresql://postgres:${password}@127.0.0.1:${port}/${db}"
)

if (return 0 2>/dev/null); then
    # sourced: export into the caller's shell, return (never exit) the status
    if _spatialprog_dsn=$(_spatialprog_start_postgis); then
        if [ -n "$_spatialprog_dsn" ]; then
            export SPATIALPROG_TEST_PG="$_spatialprog_dsn"
            printf '[start-postgis] SPATIALPROG_TEST_PG=%s\n' "$SPATIALPROG_TEST_PG" >&2
        fi
        unset _spatialprog_dsn
        unset -f _spatialprog_start_postgis
        true
    else
        unset _spatialprog_dsn
        unset -f _spatialprog_start_postgis
        false
    fi
else
    # executed: print a line for eval; exit status says whether it worked
    _spatialprog_dsn=$(_spatialprog_start_postgis) || exit 1
    if [ -n "$_spatialprog_dsn" ]; then
        printf 'export SPATIALPROG_TEST_PG=%q\n' "$_spatialprog_dsn"
    fi
fi
