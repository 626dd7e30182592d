#!/bin/bash
# The HTTP serving benchmark in one command (README.md in this folder, "HTTP
# serving"), on loopback only: zsmap serve against nginx serving the same
# tile bytes from disk, with wrk.
#
#   tests/bench/run-http.sh [--out DIR] [--duration S] [--rounds N]
#
# --out DIR       keep everything there (default: a new folder under /tmp); a
#                 demo store already in DIR is reused
# --duration S    seconds per wrk run (default 15)
# --rounds N      cached-tile rounds, nginx then zsmap in each (default 2)
# Environment: BUILD (build folder, default build), ZSMAP (a zsmap binary to
# use instead of building BUILD/server/zsmap; it is copied to DIR either way),
# PYTHON (default /usr/bin/python3).
#
# Phases: cached tiles (http_tiles.txt, 128 tiles) from nginx and zsmap in
# turn, N rounds; the same with If-None-Match (304s); API latency
# (/api/carriers/{id}, searches, /api/at); cold tiles from a new zsmap
# process (every z15-z17 tile of the district, once each). wrk: 2 threads,
# 64 connections (cold: 2 per core). Writes DIR/http.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/tests/bench"
BUILD=${BUILD:-$ROOT/build}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=""
DURATION=15
ROUNDS=2
ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-http.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/zsmap-http-bench.XXXXXX)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
chmod 755 "$OUT" # nginx's workers (an unprivileged user) read $OUT/www
CORES=$(nproc)
start=$(date +%s)
step() { printf '\n== %s (%ds, load average %s)\n' "$*" $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)"; }

# ---- processes we start, all stopped on exit -----------------------------------
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stop() { # PID: stops one process we started
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # URL: waits up to 30 s for a 200
    local _
    for _ in $(seq 300); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "run-http.sh: $1 did not answer" >&2
    exit 1
}

# ---- 1. tools --------------------------------------------------------------------
step "tools"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=("$(apt-cache show nginx-light >/dev/null 2>&1 && echo nginx-light || echo nginx)")
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "run-http.sh: as root: apt-get install -y ${need[*]}" >&2; exit 1; }
    # the nginx package must not start its system service: invoke-rc.d's
    # policy hook says no while we install (unless a policy is already set)
    policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" || rc=$?
    [ "$policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
    [ "${rc:-0}" = 0 ] || exit "$rc"
fi
NGINX_V=$(nginx -v 2>&1 | sed 's/^nginx version: //')
WRK_V=$( (wrk -v 2>&1 || true) | sed -n '1s/ \[.*//p')
MHD_V=$(dpkg-query -W -f '${Version}' libmicrohttpd12 2>/dev/null || echo unknown)
echo "$NGINX_V; $WRK_V; libmicrohttpd $MHD_V"

# ---- 2. zsmap, demo store, warm server, nginx root -----------------------------
step "zsmap binary (a copy in $OUT: others may rebuild $BUILD meanwhile)"
if [ -z "${ZSMAP:-}" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT"
    ninja -C "$BUILD" server/zsmap
    ZSMAP="$BUILD/server/zsmap"
fi
cp "$ZSMAP" "$OUT/zsmap"
ZS="$OUT/zsmap"
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || REV="$REV + uncommitted changes"
REV="$REV (binary $ZSMAP of $(date -u -r "$ZSMAP" +%Y-%m-%dT%H:%MZ))"

DB="$OUT/demo.sqlite"
step "demo store $DB"
if [ -f "$DB" ]; then echo "reusing $DB"; else "$ZS" demo --db "$DB" | tail -n 1; fi

ZPID=""
ZURL=""
ZLOG=""
start_zsmap() { # NAME: a new zsmap serve process on a free port
    local port
    port=$(free_port)
    ZLOG="zsmap-$1.log" # its access log: a line per request with the time it took
    "$ZS" serve --db "$DB" --bind 127.0.0.1 --port "$port" --styles "$ROOT/styles" 2>"$OUT/$ZLOG" &
    ZPID=$!
    PIDS+=("$ZPID")
    ZURL="http://127.0.0.1:$port"
    wait_http "$ZURL/healthz"
    echo "zsmap serve ($1): pid $ZPID, $ZURL"
}

step "zsmap serve, warmed with the 128 tiles of http_tiles.txt; nginx's root $OUT/www"
start_zsmap warm
rm -rf "$OUT/www"
mkdir -p "$OUT/www" "$OUT/api"
"$PYTHON" "$BENCH/http_prep.py" tiles "$ZURL" "$BENCH/http_tiles.txt" "$OUT/www" "$OUT/tiles.paths"
chmod -R a+rX "$OUT/www"
"$PYTHON" "$BENCH/http_prep.py" api "$ZURL" "$OUT/api"

step "nginx, $CORES workers"
NPORT=$(free_port)
NURL="http://127.0.0.1:$NPORT"
mkdir -p "$OUT/nginx/tmp"
cat >"$OUT/nginx/nginx.conf" <<EOF
# run-http.sh: nginx serving the tiles zsmap sent, from disk
worker_processes $CORES;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
    types { image/png png; }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    etag on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    client_body_temp_path $OUT/nginx/tmp/body;
    proxy_temp_path $OUT/nginx/tmp/proxy;
    fastcgi_temp_path $OUT/nginx/tmp/fastcgi;
    uwsgi_temp_path $OUT/nginx/tmp/uwsgi;
    scgi_temp_path $OUT/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $OUT/www;
        # the headers zsmap sends with a tile, so that both send as many bytes
        add_header Cache-Control "public, max-age=300";
        add_header Access-Control-Allow-Origin "*";
        add_header X-Content-Type-Options nosniff;
    }
}
EOF
nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx/" -e "$OUT/nginx/error.log" -g 'daemon off;' &
NGPID=$!
PIDS+=("$NGPID")
wait_http "$NURL/tiles/investor/$(sed -n 1p "$BENCH/http_tiles.txt").png"
echo "nginx: master pid $NGPID, workers $(pgrep -P "$NGPID" | tr '\n' ' ')$NURL"
"$PYTHON" "$BENCH/http_prep.py" same "$NURL" "$OUT/tiles.paths" "$OUT/www" "$OUT/tiles-nginx.etags"
"$PYTHON" "$BENCH/http_prep.py" same "$ZURL" "$OUT/tiles.paths" "$OUT/www" "$OUT/tiles-zsmap.etags"

# ---- measuring -------------------------------------------------------------------
# sums over the given processes, from /proc: VmRSS and VmHWM in kB, CPU ticks
rss_kb() {
    local p k v _ s=0
    for p in "$@"; do
        while read -r k v _; do [ "$k" = VmRSS: ] && s=$((s + v)); done <"/proc/$p/status"
    done
    echo "$s"
}
hwm_kb() {
    local p k v _ s=0
    for p in "$@"; do
        while read -r k v _; do [ "$k" = VmHWM: ] && s=$((s + v)); done <"/proc/$p/status"
    done
    echo "$s"
}
cpu_ticks() { for p in "$@"; do cat "/proc/$p/stat"; done | awk '{s += $14 + $15} END {print s}'; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $6 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
rss_sampler() { # PIDS...: the highest VmRSS sum every 0.2 s, printed when stopped
    local max=0 s
    trap 'echo "$max"; exit 0' TERM
    while :; do
        s=$(rss_kb "$@") && [ "$s" -gt "$max" ] && max=$s
        sleep 0.2
    done
}
server_pids() { # zsmap|nginx
    if [ "$1" = zsmap ]; then echo "$ZPID"; else echo "$NGPID" $(pgrep -P "$NGPID"); fi
}

# measure NAME SERVER(zsmap|nginx) URL PATHS MODE CONNECTIONS: one wrk run; a
# line of key=value pairs to $OUT/results.txt
measure() {
    local name=$1 server=$2 url=$3 paths=$4 mode=$5 conns=$6
    local pids
    read -r -a pids <<<"$(server_pids "$server")"
    local log="" log0
    if [ "$server" = zsmap ]; then
        curl -s "$url/metrics" >"$OUT/metrics-$name-0.txt"
        log0=$(stat -c %s "$OUT/$ZLOG")
    fi
    local rss0 hwm0 cpu0 m0 t0 rss1 hwm1 cpu1 m1 t1 max sampler
    rss0=$(rss_kb "${pids[@]}") hwm0=$(hwm_kb "${pids[@]}") cpu0=$(cpu_ticks "${pids[@]}")
    m0=$(machine_ticks) t0=$(date +%s.%N)
    rss_sampler "${pids[@]}" >"$OUT/rss-$name.txt" &
    sampler=$!
    PIDS+=("$sampler")
    /usr/bin/time -o "$OUT/wrk-$name.cpu" -f '%U %S' \
        wrk -t 2 -c "$conns" -d "${DURATION}s" --timeout 10s --latency -s "$BENCH/http_paths.lua" \
        "$url" -- "$paths" "$mode" 2 >"$OUT/wrk-$name.txt"
    stop "$sampler"
    t1=$(date +%s.%N) m1=$(machine_ticks) cpu1=$(cpu_ticks "${pids[@]}")
    rss1=$(rss_kb "${pids[@]}") hwm1=$(hwm_kb "${pids[@]}")
    max=$(cat "$OUT/rss-$name.txt")
    if [ "$server" = zsmap ]; then
        log=$("$PYTHON" "$BENCH/http_table.py" --log "$OUT/$ZLOG" "$log0" "$(stat -c %s "$OUT/$ZLOG")")
        curl -s "$url/metrics" >"$OUT/metrics-$name-1.txt"
    fi
    echo "name=$name server=$server conns=$conns mode=$mode" \
        "rss_before_kb=$rss0 rss_max_kb=$((max > rss1 ? max : rss1)) rss_after_kb=$rss1" \
        "hwm_before_kb=$hwm0 hwm_after_kb=$hwm1 wall_s=$(echo "$t1 - $t0" | bc)" \
        "server_cpu_s=$(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc -l)" \
        "wrk_cpu_s=$(awk '{print $1 + $2}' "$OUT/wrk-$name.cpu")" \
        "machine_busy_ticks=$(($(echo "$m1" | cut -d' ' -f1) - $(echo "$m0" | cut -d' ' -f1)))" \
        "machine_all_ticks=$(($(echo "$m1" | cut -d' ' -f2) - $(echo "$m0" | cut -d' ' -f2)))" \
        "load=$(cut -d' ' -f1 /proc/loadavg) $log" \
        "$(sed -n 's/^RESULT //p' "$OUT/wrk-$name.txt")" >>"$OUT/results.txt"
    printf '%-16s %s\n' "$name" "$(grep -E 'Requests/sec|Non-2xx|Socket errors' "$OUT/wrk-$name.txt" | tr -s ' ' | tr '\n' ';')"
}
rm -f "$OUT/results.txt"

# ---- 3. cached tiles ---------------------------------------------------------------
step "cached tiles: nginx and zsmap in turn, $ROUNDS rounds, ${DURATION} s each"
cut -f1 "$OUT/tiles.paths" >"$OUT/tiles.plain"
for round in $(seq "$ROUNDS"); do
    measure "cached-nginx-$round" nginx "$NURL" "$OUT/tiles.plain" cycle 64
    measure "cached-zsmap-$round" zsmap "$ZURL" "$OUT/tiles.plain" cycle 64
done
step "If-None-Match with each server's own ETags (304)"
measure "304-nginx" nginx "$NURL" "$OUT/tiles-nginx.etags" cycle 64
measure "304-zsmap" zsmap "$ZURL" "$OUT/tiles-zsmap.etags" cycle 64

# ---- 4. API ------------------------------------------------------------------------
step "API latency, 64 connections"
measure "api-profile" zsmap "$ZURL" "$OUT/api/ids.paths" cycle 64
measure "api-search" zsmap "$ZURL" "$OUT/api/search.paths" cycle 64
measure "api-at" zsmap "$ZURL" "$OUT/api/at.paths" cycle 64
stop "$ZPID"
stop "$NGPID"

# ---- 5. cold tiles -----------------------------------------------------------------
step "cold tiles: a new zsmap process, every z15-z17 tile once, $((2 * CORES)) connections"
start_zsmap cold
"$PYTHON" "$BENCH/http_prep.py" grid "$ZURL" --zooms 15-17 >"$OUT/cold.paths"
echo "$(wc -l <"$OUT/cold.paths") tiles"
measure cold zsmap "$ZURL" "$OUT/cold.paths" once $((2 * CORES))
stop "$ZPID"

# ---- 6. the table ----------------------------------------------------------------
step "results (also in $OUT/http.md)"
{
    echo "Machine: $CORES cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)," \
        "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo);" \
        "$(. /etc/os-release && echo "$PRETTY_NAME"); $(date -u +%Y-%m-%dT%H:%MZ)." \
        "Versions: $NGINX_V, $WRK_V, libmicrohttpd $MHD_V, zsmap $REV."
    echo "Command: \`tests/bench/run-http.sh${ARGS:+ $ARGS}\` (wrk: 2 threads, ${DURATION} s a run)."
    echo
    "$PYTHON" "$BENCH/http_table.py" "$OUT"
} | tee "$OUT/http.md"
# zsmap's logs without the access lines (hundreds of MB), startup and errors kept
for f in "$OUT"/zsmap-*.log; do
    grep -Ev '^[A-Z-]+ /' "$f" >"$f.tmp" || true
    mv "$f.tmp" "$f"
done
echo
echo "total $(($(date +%s) - start)) s; files in $OUT"
