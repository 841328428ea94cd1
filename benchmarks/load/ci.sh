#!/usr/bin/env bash
# CI smoke of the load and fault harness (docs/operations.md, "Faults"), about 3 minutes on 2 cores:
# a small project (3,000 items, 10 annotators, texts not encoded beforehand), 10 annotators plus
# the reviewer and the manager for LOAD_CI_TIME (80s) with short pauses (LOAD_THINK, "1,3"), Redis
# stopped for 15 s and then PostgreSQL for 10 s during the run, then benchmarks/load/check.py.
#
#   benchmarks/load/ci.sh          # from anywhere; exits 1 if a check fails
#
# It fails when the checker reports a problem (an acknowledged submit lost or stored twice, an
# item over its overlap through the queue, a dangling lease), when the web server answered a
# 5xx other than the 503 the database outage is expected to give, when nothing was acknowledged
# at all, or when the site did not come back after the faults. Timings are never asserted: CI
# machines vary. Everything runs on its own ports and folders (STACK_DIR, PG_PORT, REDIS_PORT,
# LOAD_PORT, OUT below), beside any other stack of benchmarks/load/run.sh, and everything it
# started is stopped at the end, however it ends. Prints one line of JSON last.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=$PWD/benchmarks/load

export STACK_DIR=${STACK_DIR:-/tmp/tagwise-ci-stack}
export PG_PORT=${PG_PORT:-5441}
export REDIS_PORT=${REDIS_PORT:-6391}
export LOAD_PORT=${LOAD_PORT:-8041}
export PORT=$LOAD_PORT
export OUT=${OUT:-/tmp/tagwise-ci-load}
export LOAD_THINK=${LOAD_THINK:-1,3}
export LOAD_SPAWN_RATE=${LOAD_SPAWN_RATE:-4}
export FAULT_AFTER=${FAULT_AFTER:-15}
export LOAD_SETUP=1
export LOAD_SETUP_ARGS="--items ${LOAD_CI_ITEMS:-3000} --no-embed"
export STOP_GRACE=${STOP_GRACE:-10}
USERS=${LOAD_CI_USERS:-10}
RUN_TIME=${LOAD_CI_TIME:-80s}
FAULTS=${LOAD_CI_FAULTS-redis postgres}
VENV=${LOCUST_VENV:-/tmp/locust-venv}
export LOCUST=$VENV/bin/locust
# Never the servers of the CI's test run (.ci/run exports their URLs): the stack's own only.
unset LOAD_PG LOAD_REDIS
# shellcheck source=benchmarks/load/stack.sh
source "$HERE/stack.sh"

started=$(date +%s)
say() { echo "ci.sh: $*" >&2; }

if [ ! -x "$LOCUST" ]; then
  say "creating the locust virtualenv in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi

RUN_PID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ "$status" = 130 ] && say "interrupted: stopping the stack"
  # run.sh and what it left running in its process group (the fault script, the load sampler).
  if [ -n "$RUN_PID" ]; then kill -- "-$RUN_PID" 2>/dev/null || true; fi
  stack_stop_app
  stack_stop_services
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh cluster and Redis every time: stop what an interrupted earlier run may have left. Only a
# folder this script made (it leaves a mark in it) is stopped and emptied, never another stack's.
for dir in "$STACK_DIR" "$OUT"; do
  if [ -e "$dir" ] && [ ! -f "$dir/.made-by-ci.sh" ]; then
    say "$dir exists and was not made by ci.sh: set STACK_DIR and OUT to new folders"
    trap - EXIT
    exit 2
  fi
done
stack_stop_app
stack_stop_services
rm -rf "$STACK_DIR"
mkdir -p "$STACK_DIR" "$OUT"
touch "$STACK_DIR/.made-by-ci.sh" "$OUT/.made-by-ci.sh"
rm -f "$OUT"/access.log "$OUT"/check.json "$OUT"/fault.log

# run.sh in a process group of its own, so the cleanup can end all of it by that group's id.
say "load run: $USERS annotators + reviewer + manager for $RUN_TIME, faults: $FAULTS (logs in $OUT)"
run_status=0
setsid "$HERE/run.sh" "$USERS" "$RUN_TIME" "$FAULTS" > "$OUT/run.txt" 2>&1 &
RUN_PID=$!
wait "$RUN_PID" || run_status=$?
RUN_PID=""

problems=()
[ "$run_status" = 0 ] || problems+=("run.sh exited with $run_status (see $OUT/run.txt, $OUT/check.json)")
[ -s "$OUT/check.json" ] || problems+=("the checker gave no report")
submits=$(grep -c '^submit,' "$OUT/acks.csv" 2>/dev/null || true)
[ "${submits:-0}" -gt 0 ] || problems+=("no submit was acknowledged")
# The status is the field after the quoted request line; 503 is the database outage's answer.
server_errors=$(grep -cE '" 5[0-9][0-9] ' "$OUT/access.log" 2>/dev/null || true)
unavailable=$(grep -cE '" 503 ' "$OUT/access.log" 2>/dev/null || true)
unexpected=$(( ${server_errors:-0} - ${unavailable:-0} ))
if [ "$unexpected" -gt 0 ]; then
  problems+=("the web server answered $unexpected 5xx other than 503")
  grep -E '" 5[0-9][0-9] ' "$OUT/access.log" | grep -vE '" 503 ' | head -20 >&2
fi
declare -A fault_done=([redis]="starting Redis" [postgres]="starting PostgreSQL" [worker]="next version")
for fault in $FAULTS; do
  grep -q "${fault_done[$fault]:-?}" "$OUT/fault.log" 2>/dev/null || problems+=("fault $fault did not run (see $OUT/fault.log)")
done
# Recovered by itself: after each outage faults.sh probes until /healthz answers 200 again ("back after").
outages=$(echo "$FAULTS" | tr ' ' '\n' | grep -cE '^(redis|postgres)$' || true)
recoveries=$(grep -c "back after" "$OUT/fault.log" 2>/dev/null || true)
if [ "${recoveries:-0}" -lt "${outages:-0}" ]; then
  problems+=("the site came back by itself after ${recoveries:-0} of ${outages:-0} outages (see $OUT/fault.log)")
fi

ok=true
[ ${#problems[@]} = 0 ] || ok=false
for problem in "${problems[@]}"; do say "FAILED: $problem"; done
[ "$ok" = true ] || sed -n '/"problems"/,/]/p' "$OUT/check.json" >&2 2>/dev/null || true
OUT_DIR=$OUT OK=$ok UNAVAILABLE=${unavailable:-0} UNEXPECTED=$unexpected SECONDS_TOTAL=$(( $(date +%s) - started )) FAULTS="$FAULTS" \
  python3 - <<'EOF'
import csv, json, os, sys
out = os.environ["OUT_DIR"]
try:
    check = json.load(open(f"{out}/check.json"))
except (OSError, ValueError):
    check = {}
# Requests locust counted as failed: the 503s of the database outage are expected; any other
# failure (a connection reset on a slow machine, a 4xx) is reported here and on stderr, not failed on.
failed = other = 0
try:
    with open(f"{out}/locust_failures.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            failed += int(row["Occurrences"])
            if "503" not in row["Error"]:
                other += int(row["Occurrences"])
                print(f"ci.sh: failed request, not a 503: {row['Method']} {row['Name']}: "
                      f"{row['Error'][:200]} x{row['Occurrences']}", file=sys.stderr)
except OSError:
    pass
print(json.dumps({
    "ok": os.environ["OK"] == "true",
    "faults": os.environ["FAULTS"].split(),
    "acknowledged": check.get("acknowledged", {}),
    "stored_exactly_once": check.get("stored_exactly_once"),
    "items_over_overlap": check.get("items_over_overlap"),
    "checker_problems": len(check.get("problems", [])) if check else None,
    "http_503": int(os.environ["UNAVAILABLE"]),
    "http_5xx_other": int(os.environ["UNEXPECTED"]),
    "failed_requests": failed,
    "failed_requests_not_503": other,
    "seconds": int(os.environ["SECONDS_TOTAL"]),
    "out": out,
}))
EOF
[ "$ok" = true ]
