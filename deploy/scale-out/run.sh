#!/usr/bin/env bash
# Two API processes and two job workers on one PostgreSQL, behind haproxy, on this machine.
#
#   MKTOWS_DB=postgresql://mktows@127.0.0.1/mktows bash deploy/scale-out/run.sh
#
# Settings (environment; every other MKTOWS_* variable passes through to the processes):
#   MKTOWS_DB           the PostgreSQL URL (required)
#   MKTOWS_INSTANCE     an instance file, applied once before the processes start (optional)
#   LB_PORT             haproxy's port (8080); API_PORT_1, API_PORT_2 the API processes' (8081, 8082)
#   WORKER_CONCURRENCY  jobs each worker runs at once (2)
#   RUN_DIR             where the logs and haproxy's config and socket go (a new temporary directory)
#   MKTOWS_PYTHON       the Python that has mktows installed (python3); HAPROXY the haproxy binary
# Everything listens on 127.0.0.1. SIGTERM, Ctrl-C or any failure stops everything it started.
set -euo pipefail

: "${MKTOWS_DB:?set MKTOWS_DB to the PostgreSQL URL}"
LB_PORT=${LB_PORT:-8080}
API_PORT_1=${API_PORT_1:-8081}
API_PORT_2=${API_PORT_2:-8082}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
MKTOWS_PYTHON=${MKTOWS_PYTHON:-python3}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
command -v "$HAPROXY" >/dev/null ||
    { echo "mktows scale-out: no haproxy (apt-get install haproxy, or set HAPROXY)" >&2; exit 1; }
RUN_DIR=${RUN_DIR:-$(mktemp -d -t mktows-scale-out.XXXXXX)}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$RUN_DIR"

declare -A pid_of=()
pids=()
stop_all() {
    trap - EXIT INT TERM
    if [ ${#pids[@]} -gt 0 ]; then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true # API processes give calls in flight their grace
        echo "mktows scale-out: stopped"
    fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MKTOWS=("$MKTOWS_PYTHON" -m mktows)
start() { # start NAME CMD...: run CMD in the background, its output in RUN_DIR/NAME.log
    local name=$1; shift
    "$@" >"$RUN_DIR/$name.log" 2>&1 &
    pids+=($!)
    pid_of[$name]=$!
    echo "mktows scale-out: $name pid $! (log $RUN_DIR/$name.log)"
}
answers() { # answers URL: it answers 200
    "$MKTOWS_PYTHON" -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}
wait_until() { # wait_until WHAT NAME CMD...: retry CMD for 60 s while process NAME runs
    local what=$1 name=$2 deadline=$((SECONDS + 60)); shift 2
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        kill -0 "${pid_of[$name]}" 2>/dev/null || break
        sleep 0.2
    done
    echo "mktows scale-out: $what did not come up; the end of $RUN_DIR/$name.log:" >&2
    tail -n 40 "$RUN_DIR/$name.log" >&2
    exit 1
}

"${MKTOWS[@]}" migrate --db "$MKTOWS_DB" --job-engine procrastinate
if [ -n "${MKTOWS_INSTANCE:-}" ]; then
    "${MKTOWS[@]}" load "$MKTOWS_INSTANCE" --db "$MKTOWS_DB"
fi
unset MKTOWS_INSTANCE # applied once, here

for n in 1 2; do
    start "worker-$n" "${MKTOWS[@]}" worker --db "$MKTOWS_DB" --concurrency "$WORKER_CONCURRENCY"
done
for n in 1 2; do # one after the other: a first start without API users creates one
    port_var=API_PORT_$n
    start "api-$n" env MKTOWS_WORKERS=0 "${MKTOWS[@]}" serve --db "$MKTOWS_DB" \
        --host 127.0.0.1 --port "${!port_var}"
    wait_until "API process $n" "api-$n" answers "http://127.0.0.1:${!port_var}/readyz"
done
for n in 1 2; do
    wait_until "worker $n" "worker-$n" grep -q "mktows worker: procrastinate job engine" "$RUN_DIR/worker-$n.log"
done

sed -e "s|@LB_PORT@|$LB_PORT|g" -e "s|@API_PORT_1@|$API_PORT_1|g" -e "s|@API_PORT_2@|$API_PORT_2|g" \
    -e "s|@RUN_DIR@|$RUN_DIR|g" "$HERE/haproxy.cfg.template" >"$RUN_DIR/haproxy.cfg"
start haproxy "$HAPROXY" -f "$RUN_DIR/haproxy.cfg"
wait_until haproxy haproxy answers "http://127.0.0.1:$LB_PORT/readyz"

echo "mktows scale-out ready on http://127.0.0.1:$LB_PORT/soap/mktows/2_9"
wait "${pid_of[haproxy]}" # until haproxy stops or a signal comes
