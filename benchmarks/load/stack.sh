# The load test's server stack, sourced by run.sh, faults.sh and ci.sh. Its own PostgreSQL
# cluster (port 5440, under $STACK_DIR) and Redis (port 6390), so a fault never stops
# a server someone else uses; gunicorn and a Celery worker with production settings.
# STACK_DIR, PG_PORT, REDIS_PORT, LOAD_PORT (the web) and OUT (logs and pid files) move
# all of it, so a second stack (ci.sh's) runs beside the first without touching it.

STACK_DIR=${STACK_DIR:-/tmp/tagwise-faults}
PG_PORT=${PG_PORT:-5440}
REDIS_PORT=${REDIS_PORT:-6390}
PORT=${PORT:-${LOAD_PORT:-8040}}
OUT=${OUT:-/tmp/tagwise-load}
export DATABASE_URL=${LOAD_PG:-postgres://postgres@127.0.0.1:$PG_PORT/tagwise_load}
export CELERY_BROKER_URL=${LOAD_REDIS:-redis://127.0.0.1:$REDIS_PORT}/0
export CACHE_URL=${LOAD_REDIS:-redis://127.0.0.1:$REDIS_PORT}/1
export TAGWISE_DATA_DIR=$STACK_DIR/data
export SECRET_KEY=${SECRET_KEY:-load-test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz}
export DEBUG=0
# Plain http on 127.0.0.1: no redirect to https (a TLS proxy does that in production).
export SECURE_SSL_REDIRECT=0
export SECURE_HSTS_SECONDS=0

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sh -c "$*"; fi
}

stack_start_services() {
  mkdir -p "$STACK_DIR/data"
  if [ -z "${LOAD_PG:-}" ]; then
    if [ ! -d "$STACK_DIR/pg" ]; then
      [ "$(id -u)" = 0 ] && chown postgres "$STACK_DIR"
      pg_as_owner "initdb -D $STACK_DIR/pg -A trust -U postgres >/dev/null"
    fi
    pg_as_owner "pg_ctl -D $STACK_DIR/pg status >/dev/null" || pg_as_owner \
      "pg_ctl -D $STACK_DIR/pg -o '-p $PG_PORT -k $STACK_DIR' -l $STACK_DIR/pg.log -w start >/dev/null"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='tagwise_load'" \
      | grep -q 1 || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE tagwise_load"
  fi
  if [ -z "${LOAD_REDIS:-}" ]; then
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || redis_start
  fi
  .venv/bin/python manage.py migrate --noinput >/dev/null
  .venv/bin/python manage.py collectstatic --noinput >/dev/null
}

redis_start() {
  # Append-only, as docker-compose runs it: queued tasks survive a restart.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly yes --dir "$STACK_DIR" \
    --logfile "$STACK_DIR/redis.log" --pidfile "$STACK_DIR/redis.pid"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
}

redis_stop() {
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

pg_stop() {
  pg_as_owner "pg_ctl -D $STACK_DIR/pg -m fast stop >/dev/null"
}

pg_start() {
  pg_as_owner "pg_ctl -D $STACK_DIR/pg -o '-p $PG_PORT -k $STACK_DIR' -l $STACK_DIR/pg.log -w start >/dev/null"
}

# gunicorn's default access line, then the time the server took (milliseconds): where a slow request was.
ACCESS_FORMAT='%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

stack_start_app() {
  # --keep-alive above the clients' longest pause (15 s): with a shorter one the server closes an
  # idle connection just as the client reuses it, and the request fails unanswered. In production
  # the TLS proxy holds the client connections, so this only concerns the harness.
  # Each stack its own control socket (gunicorn's default is one per user, shared by every stack).
  .venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 --keep-alive 20 \
    --control-socket "$OUT/gunicorn.ctl" --pid "$OUT/gunicorn.pid" --daemon --error-logfile "$OUT/gunicorn.log" \
    --access-logfile "$OUT/access.log" --access-logformat "$ACCESS_FORMAT"
  # The worker runs at a lower CPU priority than the web (docs/operations.md, "One machine"): a retrain
  # then uses the cores the web leaves idle instead of taking them from people waiting for their next item.
  nice -n "${WORKER_NICE:-10}" .venv/bin/celery -A config worker -Q default,training --concurrency 1 --loglevel INFO \
    --logfile "$OUT/worker.log" --pidfile "$OUT/worker.pid" --detach
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.2; done
  echo "the web server did not come up; see $OUT/gunicorn.log" >&2
  return 1
}

stack_stop_app() {
  # TERM, then KILL whatever still runs after STOP_GRACE seconds (30): gunicorn finishes the
  # requests in hand, but the worker's warm shutdown would wait for a whole retrain. A task
  # killed so is delivered again at the worker's next start (acks_late, docs/operations.md).
  local name pid
  for name in gunicorn worker; do
    [ -f "$OUT/$name.pid" ] || continue
    pid=$(cat "$OUT/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $(( ${STOP_GRACE:-30} * 5 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      # shellcheck disable=SC2046
      kill -9 $(pgrep -P "$pid") "$pid" 2>/dev/null || true
    fi
    rm -f "$OUT/$name.pid"
  done
}

stack_stop_services() {
  # Only the stack's own servers, never those named by LOAD_PG or LOAD_REDIS.
  if [ -z "${LOAD_PG:-}" ] && [ -f "$STACK_DIR/pg/postmaster.pid" ]; then
    pg_as_owner "pg_ctl -D $STACK_DIR/pg -m fast stop >/dev/null" || true
  fi
  if [ -z "${LOAD_REDIS:-}" ] && [ -f "$STACK_DIR/redis.pid" ]; then
    local pid
    pid=$(cat "$STACK_DIR/redis.pid")
    { grep -q redis "/proc/$pid/comm" 2>/dev/null && kill "$pid"; } || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$STACK_DIR/redis.pid"
  fi
}
