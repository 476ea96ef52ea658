#!/usr/bin/env bash
# Real servers for the integration and e2e tests, on loopback and non-default ports,
# without systemd or Docker (Debian 12, run as root):
#
#   PostgreSQL 15   127.0.0.1:55432   superuser migrate/migrate, database migrate
#   MariaDB 10.11   127.0.0.1:53306   migrate/migrate with ALL ON *.*, database migrate
#   memcached       127.0.0.1:51211, 51212, 51213 (the pool) and 51214 (spare, for tests that add a server)
#   memcached SASL  127.0.0.1:51215, started with -S (binary protocol only): user migrate / migrate-sasl
#
# TLS: PostgreSQL and MariaDB also accept TLS (plain connections keep working), with a server certificate for
# `localhost` only (so 127.0.0.1 fails a host name check) signed by a test CA. .services/tls/ holds ca.pem,
# other-ca.pem (a CA that signed nothing here), and client.pem/client.key (CN migrate_cert). Test users:
#   migrate_tls   password migrate; refused over plain connections (pg_hba hostnossl reject / REQUIRE SSL)
#   migrate_cert  no password; logs in with the client certificate only (pg_hba cert / REQUIRE SUBJECT)
# `env` prints TEST_TLS_DIR only when both servers were started by this script with TLS.
#
# Usage: scripts/services.sh start [postgres|mariadb|memcached ...]|stop|status|env
#   start   installs missing packages (apt-get), initialises data folders, starts what is not running
#           (every service, or the ones named). Idempotent: a running server is left alone.
#   stop    stops only the processes this script started (pid files, checked against the
#           process name so a recycled pid is never signalled).
#   status  prints what runs; exits 0 when everything runs, 1 otherwise.
#   env     prints `export TEST_...=...` lines: eval "$(scripts/services.sh env)"
#
# SERVICES_STATE_DIR, SERVICES_PG_PORT and SERVICES_MYSQL_PORT move a second set of servers elsewhere (the
# TLS tests start their own this way when the shared servers were started without TLS).
#
# State lives in .services/ at the repository root (gitignored): data, logs, pid files.
# PostgreSQL is the exception when it has to be: its server runs as the `postgres` OS user,
# which must be able to traverse every parent of its data folder, and Unix socket paths are
# limited to ~107 bytes. If .services/pg fails either test (e.g. the clone lives under
# /root, mode 0700), the cluster goes to /tmp/cache-migrate-services-<sha1(repo path)>/pg.
# The choice is recorded in .services/pg-root so later calls find the same cluster.
# The MariaDB socket falls back to the same /tmp folder when its path would be too long.
set -euo pipefail

readonly PG_PORT=${SERVICES_PG_PORT:-55432}
readonly MYSQL_PORT=${SERVICES_MYSQL_PORT:-53306}
# SERVICES_MEMCACHED_PORTS="a b c" (three ports), SERVICES_MEMCACHED_SPARE_PORT, SERVICES_MEMCACHED_SASL_PORT,
# like the two above: a second checkout (a CI clone) can run its own servers beside these.
read -r -a MEMCACHED_PORTS <<<"${SERVICES_MEMCACHED_PORTS:-51211 51212 51213}"
readonly MEMCACHED_PORTS
readonly MEMCACHED_SPARE_PORT=${SERVICES_MEMCACHED_SPARE_PORT:-51214}
readonly MEMCACHED_SASL_PORT=${SERVICES_MEMCACHED_SASL_PORT:-51215}
readonly MEMCACHED_SASL_USER=migrate
readonly MEMCACHED_SASL_PASSWORD=migrate-sasl
readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly READY_TIMEOUT_S=60

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly REPO_DIR
readonly STATE_DIR="${SERVICES_STATE_DIR:-$REPO_DIR/.services}"
# The default state folder keeps the fallback folder it always had (the hash of the repository's path).
REPO_HASH="$(printf '%s' "${SERVICES_STATE_DIR:-$REPO_DIR}" | sha1sum | cut -c1-12)"
readonly FALLBACK_DIR="/tmp/cache-migrate-services-$REPO_HASH"
readonly MYSQL_DIR="$STATE_DIR/mariadb"
readonly MEMCACHED_DIR="$STATE_DIR/memcached"
readonly TLS_DIR="$STATE_DIR/tls"
readonly SOCKET_PATH_MAX=100

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------- helpers

require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    die "must run as root (it installs packages and runs PostgreSQL as the postgres user)"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when the pid in file $1 is alive and its process name is $2 (guards against pid reuse).
pid_alive() {
  local pidfile=$1 name=$2 pid comm
  [[ -s $pidfile ]] || return 1
  pid="$(head -n1 "$pidfile" | tr -d '[:space:]')"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
  [[ $comm == "$name" ]] || return 1
  process_running "$pid"
}

pid_of() {
  head -n1 "$1" | tr -d '[:space:]'
}

# Sends SIGTERM to the pid in $1 (if it is a live $2) and waits for it to exit.
stop_pid() {
  local pidfile=$1 name=$2 label=$3 pid i
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(pid_of "$pidfile")"
  log "stopping $label (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if ! process_running "$pid"; then
      rm -f "$pidfile"
      return 0
    fi
    sleep 0.1
  done
  log "$label (pid $pid) ignored SIGTERM for ${READY_TIMEOUT_S}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# True while pid $1 exists and is not a zombie.
process_running() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n $state && $state != Z ]]
}

# One request/response line over the memcached text protocol (subshell: fd 3 stays local).
memcached_version() (
  local port=$1 line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'version\r\n' >&3
  IFS= read -r -t 2 line <&3 || return 1
  [[ $line == VERSION* ]]
)

# True when the server on 127.0.0.1:$1 answers a binary-protocol VERSION, the one command a
# SASL-enabled memcached answers before authentication.
memcached_binary_version() (
  local port=$1 magic
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '\x80\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' >&3
  magic="$(timeout 2 head -c 1 <&3 | od -An -tx1 | tr -d ' \n')" || return 1
  [[ $magic == 81 ]]
)

# ---------------------------------------------------------------------------- packages

wait_for_dpkg_lock() {
  local i
  for ((i = 0; i < 120; i++)); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; then
      return 0
    fi
    if ((i % 12 == 0)); then log "waiting for another apt/dpkg to finish"; fi
    sleep 5
  done
  die "dpkg lock still held after 10 minutes"
}

# apt-get with retries: apt may be running in the background (lock held) or the mirror may flake.
apt_get() {
  local attempt
  for attempt in 1 2 3 4 5; do
    wait_for_dpkg_lock
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; then
      return 0
    fi
    log "apt-get $1 failed (attempt $attempt), retrying"
    sleep 10
  done
  die "apt-get $* failed"
}

ensure_packages() {
  local missing=()
  [[ -x $PG_BIN/initdb ]] || missing+=(postgresql)
  command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server)
  command -v memcached >/dev/null 2>&1 || missing+=(memcached)
  command -v saslpasswd2 >/dev/null 2>&1 || [[ -x /usr/sbin/saslpasswd2 ]] || missing+=(sasl2-bin)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  log "installing ${missing[*]}"
  # Keep package postinst scripts from starting system-wide servers on the default ports.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt_get update
  apt_get install -y --no-install-recommends "${missing[@]}"
  if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
}

# ---------------------------------------------------------------------------- TLS

# A test CA signs the server certificate (localhost only) and a client certificate (CN migrate_cert);
# other-ca.pem is a second CA that signed nothing here. Kept while server.pem is valid for another day.
tls_setup() {
  if [[ -s $TLS_DIR/server.pem && -s $TLS_DIR/client.key && -s $TLS_DIR/other-ca.pem ]] &&
    openssl x509 -checkend 86400 -noout -in "$TLS_DIR/server.pem" >/dev/null 2>&1; then
    return 0
  fi
  log "creating the test CA and certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  install -d -m 0755 "$TLS_DIR"
  (
    cd "$TLS_DIR"
    umask 077
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    local ca_ext=(-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign)
    openssl req -x509 "${ec[@]}" "${ca_ext[@]}" -keyout ca.key -out ca.pem -days 3650 \
      -subj '/CN=cache-migrate test CA'
    openssl req -x509 "${ec[@]}" "${ca_ext[@]}" -keyout other-ca.key -out other-ca.pem -days 3650 \
      -subj '/CN=cache-migrate other CA'
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj '/CN=localhost'
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext \
      -out server.pem
    openssl req "${ec[@]}" -keyout client.key -out client.csr -subj '/CN=migrate_cert'
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext \
      -out client.pem
    rm -f ./*.csr ./*.ext other-ca.key
    chmod 0644 ./*.pem
  ) >"$STATE_DIR/tls.log" 2>&1 || die "openssl could not create the test certificates, see $STATE_DIR/tls.log"
}

# ---------------------------------------------------------------------------- PostgreSQL

# Prints the folder holding the cluster (data/, run/ for the socket, postgres.log).
pg_root() {
  local recorded=""
  if [[ -s $STATE_DIR/pg-root ]]; then recorded="$(cat "$STATE_DIR/pg-root")"; fi
  # Ignore a record left by a checkout that has since moved.
  if [[ $recorded == "$STATE_DIR/pg" || $recorded == "$FALLBACK_DIR/pg" ]]; then
    echo "$recorded"
    return 0
  fi
  local candidate="$STATE_DIR/pg"
  local socket="$candidate/run/.s.PGSQL.$PG_PORT"
  # access(2) as postgres fails when any parent folder is not searchable for it.
  if ((${#socket} <= SOCKET_PATH_MAX)) && runuser -u postgres -- test -x "$STATE_DIR" 2>/dev/null; then
    echo "$candidate"
  else
    echo "$FALLBACK_DIR/pg"
  fi
}

# Runs a PostgreSQL binary as the postgres user from a folder it can read.
as_postgres() {
  (cd / && runuser -u postgres -- "$@")
}

# pg_ctl status alone counts a dead but unreaped (zombie) postmaster as running.
pg_running() {
  local pidfile=$1/data/postmaster.pid
  [[ -s $pidfile ]] || return 1
  process_running "$(pid_of "$pidfile")" || return 1
  as_postgres "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# A postmaster killed hard leaves postmaster.pid behind; while its pid is an unreaped zombie the
# new server refuses to start, so give the reaper a moment.
pg_wait_for_zombie() {
  local pidfile=$1/data/postmaster.pid pid i
  [[ -s $pidfile ]] || return 0
  pid="$(pid_of "$pidfile")"
  for ((i = 0; i < 100; i++)); do
    [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)" == Z ]] || return 0
    sleep 0.1
  done
}

pg_psql() {
  local root=$1
  shift
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$root/run" -p "$PG_PORT" -U postgres "$@"
}

pg_init() {
  local root=$1
  log "initialising PostgreSQL cluster in $root/data"
  rm -rf "$root/data"
  install -d -o postgres -g postgres -m 0700 "$root/data" "$root/run"
  as_postgres "$PG_BIN/initdb" -D "$root/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >"$root/initdb.log" 2>&1 ||
    die "initdb failed, see $root/initdb.log"
  cat >>"$root/data/postgresql.conf" <<EOF

# cache-migrate test server (scripts/services.sh): loopback only, durability off for speed.
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
password_encryption = 'scram-sha-256'
EOF
}

pg_start() {
  local root
  root="$(pg_root)"
  # Record the choice before anything else so stop/status find this cluster.
  mkdir -p "$STATE_DIR"
  echo "$root" >"$STATE_DIR/pg-root"
  if [[ $root == "$FALLBACK_DIR"/* ]]; then
    install -d -m 0755 "$FALLBACK_DIR"
    ln -sfn "$root" "$STATE_DIR/pg"
  fi
  install -d -o postgres -g postgres -m 0755 "$root"
  if pg_running "$root"; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    if port_open "$PG_PORT"; then die "127.0.0.1:$PG_PORT is in use by a process this script did not start"; fi
    [[ -f $root/data/PG_VERSION && -f $root/.initialised ]] || {
      rm -f "$root/.initialised"
      pg_init "$root"
    }
    install -d -o postgres -g postgres -m 0700 "$root/run"
    pg_tls_setup "$root"
    pg_wait_for_zombie "$root"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # The socket folder and TLS files go on the command line, not in postgresql.conf, so a moved checkout
    # still starts. Logical WAL and replication slots: change capture (pgoutput) is tested against it.
    as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -l "$root/postgres.log" -w -t "$READY_TIMEOUT_S" \
      -o "-k \"$root/run\" -c wal_level=logical -c max_replication_slots=32 -c max_wal_senders=32 \
-c ssl=on -c ssl_cert_file=\"$root/tls/server.pem\" \
-c ssl_key_file=\"$root/tls/server.key\" -c ssl_ca_file=\"$root/tls/ca.pem\"" start >/dev/null ||
      die "PostgreSQL did not start, see $root/postgres.log"
    touch "$TLS_DIR/.postgres-on"
  fi
  # Idempotent: cheap enough to run on every start, and repairs a half-finished first start.
  pg_psql "$root" -d postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'migrate') THEN
    CREATE ROLE migrate LOGIN SUPERUSER PASSWORD 'migrate';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'migrate_tls') THEN
    CREATE ROLE migrate_tls LOGIN PASSWORD 'migrate';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'migrate_cert') THEN
    CREATE ROLE migrate_cert LOGIN;
  END IF;
END
$$;
SELECT 'CREATE DATABASE migrate OWNER migrate'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'migrate') \gexec
SQL
  touch "$root/.initialised"
}

# The server's copy of its certificate and key (the key readable by postgres only), and pg_hba lines for
# the TLS test users ahead of initdb's own lines (the first matching line decides).
pg_tls_setup() {
  local root=$1 hba=$1/data/pg_hba.conf marker='# cache-migrate TLS test users (scripts/services.sh)'
  tls_setup
  install -d -o postgres -g postgres -m 0700 "$root/tls"
  install -o postgres -g postgres -m 0644 "$TLS_DIR/server.pem" "$TLS_DIR/ca.pem" "$root/tls/"
  install -o postgres -g postgres -m 0600 "$TLS_DIR/server.key" "$root/tls/"
  if ! grep -qxF "$marker" "$hba"; then
    {
      printf '%s\n' "$marker" 'hostnossl all migrate_tls all reject' 'hostssl all migrate_cert all cert' \
        'hostnossl all migrate_cert all reject' ''
      cat "$hba"
    } >"$hba.new"
    chown postgres:postgres "$hba.new"
    chmod 0600 "$hba.new"
    mv "$hba.new" "$hba"
  fi
}

pg_stop() {
  [[ -s $STATE_DIR/pg-root ]] || return 0
  rm -f "$TLS_DIR/.postgres-on"
  local root
  root="$(cat "$STATE_DIR/pg-root")"
  if pg_running "$root"; then
    log "stopping PostgreSQL"
    as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -m fast -w -t "$READY_TIMEOUT_S" stop >/dev/null
  fi
}

pg_status() {
  local root=""
  if [[ -s $STATE_DIR/pg-root ]]; then root="$(cat "$STATE_DIR/pg-root")"; fi
  if [[ -n $root ]] && pg_running "$root"; then
    printf '%-22s %-18s running  pid %s  (data %s)\n' postgresql "127.0.0.1:$PG_PORT" \
      "$(head -n1 "$root/data/postmaster.pid")" "$root/data"
    return 0
  fi
  printf '%-22s %-18s stopped\n' postgresql "127.0.0.1:$PG_PORT"
  return 1
}

# ---------------------------------------------------------------------------- MariaDB

mysql_socket() {
  local socket="$MYSQL_DIR/mariadbd.sock"
  if ((${#socket} > SOCKET_PATH_MAX)); then socket="$FALLBACK_DIR/mariadbd.sock"; fi
  echo "$socket"
}

# Admin connection as root over the server's own socket (root has no password, see install-db).
mysql_admin() {
  mariadb --no-defaults --protocol=socket --socket="$(mysql_socket)" -uroot "$@"
}

mysql_init() {
  log "initialising MariaDB data in $MYSQL_DIR/data"
  rm -rf "$MYSQL_DIR/data"
  mkdir -p "$MYSQL_DIR/data"
  mariadb-install-db --no-defaults --datadir="$MYSQL_DIR/data" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$MYSQL_DIR/install-db.log" 2>&1 ||
    die "mariadb-install-db failed, see $MYSQL_DIR/install-db.log"
}

mysql_start() {
  local pidfile="$MYSQL_DIR/mariadbd.pid" socket i
  socket="$(mysql_socket)"
  mkdir -p "$MYSQL_DIR" "$(dirname "$socket")"
  if pid_alive "$pidfile" mariadbd; then
    log "MariaDB already running on 127.0.0.1:$MYSQL_PORT"
  else
    rm -f "$pidfile"
    if port_open "$MYSQL_PORT"; then die "127.0.0.1:$MYSQL_PORT is in use by a process this script did not start"; fi
    [[ -d $MYSQL_DIR/data/mysql && -f $MYSQL_DIR/.initialised ]] || {
      rm -f "$MYSQL_DIR/.initialised"
      mysql_init
    }
    tls_setup
    log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
    # mariadbd has no daemon mode: a new session detaches it from this shell and its signals.
    # The default time zone is deliberately not UTC: the tool must set its own session zone (and the tests'
    # readers theirs), whatever the server's default is. The row binlog: change capture is tested against it.
    setsid mariadbd --no-defaults --user=root \
      --datadir="$MYSQL_DIR/data" --pid-file="$pidfile" --socket="$socket" \
      --bind-address=127.0.0.1 --port="$MYSQL_PORT" --log-error="$MYSQL_DIR/mariadbd.log" \
      --local-infile=1 --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
      --max-connections=300 --max-allowed-packet=64M \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      --default-time-zone=+05:30 --skip-name-resolve \
      --server-id=1 --log-bin="$MYSQL_DIR/data/binlog" --binlog-format=ROW --binlog-row-image=FULL \
      --binlog-row-metadata=FULL --expire-logs-days=1 \
      --ssl-ca="$TLS_DIR/ca.pem" --ssl-cert="$TLS_DIR/server.pem" --ssl-key="$TLS_DIR/server.key" \
      </dev/null >>"$MYSQL_DIR/mariadbd.log" 2>&1 &
    local launched=$!
    for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
      if mysql_admin -N -e 'SELECT 1' >/dev/null 2>&1; then break; fi
      if ! process_running "$launched"; then
        tail -n 20 "$MYSQL_DIR/mariadbd.log" >&2 || true
        die "MariaDB exited during start, see $MYSQL_DIR/mariadbd.log"
      fi
      sleep 0.1
    done
    mysql_admin -N -e 'SELECT 1' >/dev/null 2>&1 || die "MariaDB not ready after ${READY_TIMEOUT_S}s"
    # mariadbd writes its pid file itself; keep ours in case it has not yet.
    [[ -s $pidfile ]] || echo "$launched" >"$pidfile"
    touch "$TLS_DIR/.mariadb-on"
  fi
  mysql_admin <<'SQL'
CREATE USER IF NOT EXISTS 'migrate'@'%' IDENTIFIED BY 'migrate';
CREATE USER IF NOT EXISTS 'migrate'@'127.0.0.1' IDENTIFIED BY 'migrate';
GRANT ALL PRIVILEGES ON *.* TO 'migrate'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'migrate'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS migrate;
CREATE USER IF NOT EXISTS 'migrate_tls'@'%' IDENTIFIED BY 'migrate' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'migrate_tls'@'127.0.0.1' IDENTIFIED BY 'migrate' REQUIRE SSL;
CREATE USER IF NOT EXISTS 'migrate_cert'@'%' REQUIRE SUBJECT '/CN=migrate_cert';
CREATE USER IF NOT EXISTS 'migrate_cert'@'127.0.0.1' REQUIRE SUBJECT '/CN=migrate_cert';
GRANT SELECT ON migrate.* TO 'migrate_tls'@'%', 'migrate_tls'@'127.0.0.1', 'migrate_cert'@'%',
  'migrate_cert'@'127.0.0.1';
SQL
  touch "$MYSQL_DIR/.initialised"
}

mysql_stop() {
  rm -f "$TLS_DIR/.mariadb-on"
  stop_pid "$MYSQL_DIR/mariadbd.pid" mariadbd MariaDB
}

mysql_status() {
  local pidfile="$MYSQL_DIR/mariadbd.pid"
  if pid_alive "$pidfile" mariadbd; then
    printf '%-22s %-18s running  pid %s\n' mariadb "127.0.0.1:$MYSQL_PORT" "$(pid_of "$pidfile")"
    return 0
  fi
  printf '%-22s %-18s stopped\n' mariadb "127.0.0.1:$MYSQL_PORT"
  return 1
}

# ---------------------------------------------------------------------------- memcached

all_memcached_ports() {
  echo "${MEMCACHED_PORTS[@]}" "$MEMCACHED_SPARE_PORT"
}

memcached_start_one() {
  local port=$1 pidfile="$MEMCACHED_DIR/$1.pid" i
  if pid_alive "$pidfile" memcached; then
    log "memcached already running on 127.0.0.1:$port"
    return 0
  fi
  rm -f "$pidfile"
  if port_open "$port"; then die "127.0.0.1:$port is in use by a process this script did not start"; fi
  log "starting memcached on 127.0.0.1:$port"
  memcached -u root -d -P "$pidfile" -l 127.0.0.1 -p "$port" -U 0 -m 1024 ||
    die "memcached on port $port did not start"
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if memcached_version "$port" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "memcached on port $port not ready after ${READY_TIMEOUT_S}s"
}

memcached_start() {
  mkdir -p "$MEMCACHED_DIR"
  local port
  for port in $(all_memcached_ports); do memcached_start_one "$port"; done
  memcached_sasl_start
}

memcached_stop() {
  local port
  for port in $(all_memcached_ports) "$MEMCACHED_SASL_PORT"; do
    stop_pid "$MEMCACHED_DIR/$port.pid" memcached "memcached :$port"
  done
}

# The SASL server's config folder: the sasldb with one user, and memcached.conf (libsasl2 reads
# <SASL_CONF_PATH>/memcached.conf) allowing PLAIN against that sasldb.
memcached_sasl_dir() {
  echo "$MEMCACHED_DIR/sasl"
}

memcached_sasl_setup() {
  local dir db
  dir="$(memcached_sasl_dir)"
  db="$dir/memcached-sasldb2"
  mkdir -p "$dir"
  printf 'mech_list: plain\nsasldb_path: %s\n' "$db" >"$dir/memcached.conf"
  # Rewriting the same password is harmless, and repairs a half-written or moved sasldb.
  printf '%s' "$MEMCACHED_SASL_PASSWORD" |
    saslpasswd2 -p -a memcached -c -f "$db" "$MEMCACHED_SASL_USER" ||
    die "saslpasswd2 could not write $db"
}

memcached_sasl_start() {
  local port=$MEMCACHED_SASL_PORT pidfile="$MEMCACHED_DIR/$MEMCACHED_SASL_PORT.pid" i
  memcached_sasl_setup
  if pid_alive "$pidfile" memcached; then
    log "memcached (SASL) already running on 127.0.0.1:$port"
    return 0
  fi
  rm -f "$pidfile"
  if port_open "$port"; then die "127.0.0.1:$port is in use by a process this script did not start"; fi
  log "starting memcached with SASL on 127.0.0.1:$port"
  SASL_CONF_PATH="$(memcached_sasl_dir)" memcached -u root -d -P "$pidfile" -l 127.0.0.1 -p "$port" \
    -U 0 -m 64 -S || die "memcached (SASL) on port $port did not start"
  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if memcached_binary_version "$port" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "memcached (SASL) on port $port not ready after ${READY_TIMEOUT_S}s"
}

memcached_status() {
  local port pidfile label rc=0
  for port in $(all_memcached_ports); do
    pidfile="$MEMCACHED_DIR/$port.pid"
    label=memcached
    if [[ $port == "$MEMCACHED_SPARE_PORT" ]]; then label='memcached (spare)'; fi
    if pid_alive "$pidfile" memcached; then
      printf '%-22s %-18s running  pid %s\n' "$label" "127.0.0.1:$port" "$(pid_of "$pidfile")"
    else
      printf '%-22s %-18s stopped\n' "$label" "127.0.0.1:$port"
      rc=1
    fi
  done
  pidfile="$MEMCACHED_DIR/$MEMCACHED_SASL_PORT.pid"
  if pid_alive "$pidfile" memcached; then
    printf '%-22s %-18s running  pid %s\n' 'memcached (sasl)' "127.0.0.1:$MEMCACHED_SASL_PORT" \
      "$(pid_of "$pidfile")"
  else
    printf '%-22s %-18s stopped\n' 'memcached (sasl)' "127.0.0.1:$MEMCACHED_SASL_PORT"
    rc=1
  fi
  return "$rc"
}

# ---------------------------------------------------------------------------- commands

cmd_start() {
  require_root
  local started=$SECONDS service
  local services=("$@")
  if ((${#services[@]} == 0)); then services=(postgres mariadb memcached); fi
  for service in "${services[@]}"; do
    case $service in
    postgres | mariadb | memcached) ;;
    *) die "unknown service \"$service\": use postgres, mariadb or memcached" ;;
    esac
  done
  ensure_packages
  mkdir -p "$STATE_DIR"
  for service in "${services[@]}"; do
    case $service in
    postgres) pg_start ;;
    mariadb) mysql_start ;;
    memcached) memcached_start ;;
    esac
  done
  log "${services[*]} up in $((SECONDS - started))s"
}

cmd_stop() {
  require_root
  # Stop every service even if one of them fails to stop.
  local rc=0
  memcached_stop || rc=1
  mysql_stop || rc=1
  pg_stop || rc=1
  return "$rc"
}

cmd_status() {
  local rc=0
  pg_status || rc=1
  mysql_status || rc=1
  memcached_status || rc=1
  return "$rc"
}

cmd_env() {
  local servers=() port
  for port in "${MEMCACHED_PORTS[@]}"; do servers+=("127.0.0.1:$port"); done
  local IFS=,
  echo "export TEST_PG_URL=postgres://migrate:migrate@127.0.0.1:$PG_PORT/migrate"
  echo "export TEST_MYSQL_URL=mysql://migrate:migrate@127.0.0.1:$MYSQL_PORT/migrate"
  echo "export TEST_MEMCACHED_SERVERS=${servers[*]}"
  echo "export TEST_MEMCACHED_SPARE=127.0.0.1:$MEMCACHED_SPARE_PORT"
  echo "export TEST_MEMCACHED_SASL=127.0.0.1:$MEMCACHED_SASL_PORT"
  echo "export TEST_MEMCACHED_SASL_USERNAME=$MEMCACHED_SASL_USER"
  echo "export TEST_MEMCACHED_SASL_PASSWORD=$MEMCACHED_SASL_PASSWORD"
  if [[ -e $TLS_DIR/.postgres-on && -e $TLS_DIR/.mariadb-on ]]; then echo "export TEST_TLS_DIR=$TLS_DIR"; fi
}

main() {
  case "${1:-}" in
  start)
    shift
    cmd_start "$@"
    ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start [postgres|mariadb|memcached ...]|stop|status|env" >&2
    exit 2
    ;;
  esac
}

main "$@"
