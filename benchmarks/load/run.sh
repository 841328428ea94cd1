#!/usr/bin/env bash
# The load test end to end: server stack, locust, then the checker. Run from the repository root.
#
#   benchmarks/load/run.sh [USERS] [RUN_TIME] [FAULT]
#
# USERS annotators (default 50) plus one reviewer and one manager for RUN_TIME
# (default 5m), against gunicorn (2 workers, 4 threads) + PostgreSQL + Redis +
# one Celery worker, production settings (DEBUG=0). FAULT (optional): "worker"
# kills the worker's pool process mid-training, "redis" stops Redis for 15 s,
# "postgres" stops PostgreSQL for 10 s, FAULT_AFTER seconds (100) into the run;
# several ("redis postgres") run one after the other
# (benchmarks/load/faults.sh); docs/operations.md records what they did.
# LOAD_SETUP=0 keeps the project of the last run in $OUT/setup.json;
# LOAD_SETUP_ARGS passes more options to setup_project.py ("--items 3000 --no-embed").
#
# It uses its own PostgreSQL on port 5440 and its own Redis on port 6390, so
# the faults never touch a shared server: set LOAD_PG and LOAD_REDIS to use
# others. LOCUST is the locust executable (it lives best in a virtualenv of
# its own: benchmarks/load/requirements.txt). Output goes to $OUT (default /tmp/tagwise-load).
set -euo pipefail

USERS=${1:-50}
RUN_TIME=${2:-5m}
FAULT=${3:-}
OUT=${OUT:-/tmp/tagwise-load}
LOCUST=${LOCUST:-/tmp/locust-venv/bin/locust}
PORT=${LOAD_PORT:-8040}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/stack.sh"

mkdir -p "$OUT"
rm -f "$OUT"/acks.csv "$OUT"/*.log "$OUT"/locust_*.csv
stack_start_services
if [ "${LOAD_SETUP:-1}" = 1 ]; then
  .venv/bin/python benchmarks/load/setup_project.py --annotators "$USERS" ${LOAD_SETUP_ARGS:-} > "$OUT/setup.json"
fi
PROJECT=$(.venv/bin/python -c "import json; print(json.load(open('$OUT/setup.json'))['project_id'])")
stack_start_app
trap stack_stop_app EXIT

uptime > "$OUT/load_before.txt"
( while sleep 10; do cat /proc/loadavg; done ) > "$OUT/loadavg.log" &
SAMPLER=$!
if [ -n "$FAULT" ]; then
  # Several faults ("redis postgres") run one after the other, FAULT_AFTER seconds apart.
  ( for fault in $FAULT; do sleep "${FAULT_AFTER:-100}"; "$HERE/faults.sh" "$fault"; done ) > "$OUT/fault.log" 2>&1 &
fi
LOAD_PROJECT=$PROJECT LOAD_ACKS=$OUT/acks.csv LOAD_ANNOTATORS=$USERS \
  "$LOCUST" -f benchmarks/load/locustfile.py --headless --host "http://127.0.0.1:$PORT" \
  --users $((USERS + 2)) --spawn-rate "${LOAD_SPAWN_RATE:-2}" --run-time "$RUN_TIME" --stop-timeout 10 \
  --csv "$OUT/locust" --only-summary > "$OUT/locust.log" 2>&1 || true
kill "$SAMPLER" 2>/dev/null || true
wait
uptime > "$OUT/load_after.txt"
.venv/bin/python benchmarks/load/check.py --acks "$OUT/acks.csv" --project "$PROJECT" | tee "$OUT/check.json"
