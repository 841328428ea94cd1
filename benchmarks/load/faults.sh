#!/usr/bin/env bash
# One fault against the load test's stack (benchmarks/load/stack.sh), with what the site answered meanwhile.
#
#   benchmarks/load/faults.sh worker     # SIGKILL the Celery pool process while a version trains
#   benchmarks/load/faults.sh redis      # stop the stack's Redis for REDIS_DOWN seconds (15)
#   benchmarks/load/faults.sh postgres   # stop the stack's PostgreSQL for PG_DOWN seconds (10)
#
# Run it while benchmarks/load/run.sh runs (its FAULT argument does), or alone
# against a running stack. It only ever stops the stack's own servers
# (ports 5440 and 6390 by default), never a shared one. Prints a timeline.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/stack.sh"

say() { echo "$(date -u +%H:%M:%S.%3N) $*"; }
sql() { psql "$DATABASE_URL" -Atc "$1"; }
probe() {
  local health page
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || echo 000)
  page=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/accounts/login/" || echo 000)
  say "healthz $health, login page $page"
  [ "$health" = 200 ]
}
recovered() {
  # Probe every second until /healthz answers 200 again, at least 3 times, for RECOVER_WAIT s (30) at most.
  local since=$(date +%s) count=0
  while :; do
    sleep 1
    count=$((count + 1))
    if probe && [ "$count" -ge 3 ]; then say "back after $(( $(date +%s) - since )) s"; return; fi
    if [ $(( $(date +%s) - since )) -ge "${RECOVER_WAIT:-30}" ]; then say "not back after ${RECOVER_WAIT:-30} s"; return; fi
  done
}

case "${1:-}" in
  worker)
    say "waiting for a version to train"
    for _ in $(seq 600); do
      version=$(sql "SELECT id FROM learner_modelversion WHERE status='training' LIMIT 1")
      [ -n "$version" ] && break
      sleep 1
    done
    [ -n "${version:-}" ] || { say "no version trained within 10 minutes"; exit 1; }
    sleep "${KILL_AFTER:-3}"
    child=$(pgrep -P "$(cat "$OUT/worker.pid")" | head -1)
    say "version $version training; SIGKILL pool process $child"
    kill -9 "$child"
    killed=$(date +%s)
    while [ "$(sql "SELECT status FROM learner_modelversion WHERE id=$version")" = training ]; do sleep 1; done
    say "version $version: $(sql "SELECT status || ' (' || error || '), ' ||
      round(extract(epoch FROM finished_at - heartbeat_at)) || ' s after its last heartbeat'
      FROM learner_modelversion WHERE id=$version"), $(( $(date +%s) - killed )) s after the kill"
    for _ in $(seq 600); do
      next=$(sql "SELECT id || ' ' || status FROM learner_modelversion WHERE id > $version ORDER BY id LIMIT 1")
      [ -n "$next" ] && break
      sleep 1
    done
    say "next version: ${next:-none within 10 minutes}"
    ;;
  redis)
    probe || true
    say "stopping Redis (port $REDIS_PORT)"
    redis_stop
    for _ in $(seq $(( ${REDIS_DOWN:-15} / 5 ))); do sleep 5; probe || true; done
    say "starting Redis"
    redis_start
    recovered
    ;;
  postgres)
    probe || true
    say "stopping PostgreSQL (port $PG_PORT)"
    pg_stop
    for _ in $(seq $(( ${PG_DOWN:-10} / 5 ))); do sleep 5; probe || true; done
    say "starting PostgreSQL"
    pg_start
    recovered
    ;;
  *)
    echo "usage: $0 worker|redis|postgres" >&2
    exit 2
    ;;
esac
