#!/usr/bin/env bash
# Job queues (issue 19): Brook (dev.brook.bench.Jobs) and BullMQ (benchmarks/bullmq/jobs.js, npm
# bullmq + ioredis on the installed Node) doing the same work on ONE private redis-server, in one
# run: drain N pre-queued no-op jobs at concurrency 1 and 50, every job failing once then succeeding
# (fixed back-off of 0 and 10 ms), jobs all due at one instant (promotion), delayed jobs' lateness at a paced
# rate. Each run reports Redis CPU and commands per job (INFO cpu / commandstats deltas) and lost and
# duplicated jobs counted by id. Ratios Brook ÷ BullMQ in report.md (this machine is shared and noisy).
#   benchmarks/jobs.sh [jobs, default 50000]
# Env: BENCH_SKIP_BUILD=1 reuses the last build; JOBS_SCENARIOS="drain-c1 delayed" runs a subset;
#      JOBS_RETRY_N (20000), JOBS_PROMOTE_N (20000), JOBS_RATE (500), JOBS_SECONDS (20);
#      BENCH_OUT=dir (default benchmarks/target/jobs) gets results.txt, report.md, jobs.log;
#      JOBS_IMPLS="brook" runs one side only (default "brook bullmq"); JOBS_JAVA_OPTS="-XX:+UseZGC"
#      passes JVM options to Brook's JVM (the collector decides the delayed jobs' worst lateness).
# About 3.5 minutes on 2 loaded cores; BullMQ's drain at concurrency 1 is the longest part.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}
RETRY_N=${JOBS_RETRY_N:-20000}
PROMOTE_N=${JOBS_PROMOTE_N:-20000}
RATE=${JOBS_RATE:-500}
SECS=${JOBS_SECONDS:-20}
SCENARIOS=${JOBS_SCENARIOS:-drain-c1 drain-c50 retry-0ms retry-10ms promote delayed}
IMPLS=${JOBS_IMPLS:-brook bullmq}
read -r -a JAVA_OPTS <<< "${JOBS_JAVA_OPTS:-}"
OUT=${BENCH_OUT:-benchmarks/target/jobs}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -o -pl benchmarks -am package -DskipTests
case " $IMPLS " in *" bullmq "*) [ -d benchmarks/bullmq/node_modules ] || (cd benchmarks/bullmq && npm ci --no-audit --no-fund) ;; esac
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
LOG="$OUT/jobs.log"
: > "$RESULTS"
: > "$LOG"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
URL="redis://127.0.0.1:$PORT"
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
load() { cut -d' ' -f1-3 /proc/loadavg; }
{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $("$JAVA" -version 2>&1 | head -1), node $(node --version)," \
    "bullmq $(node -p "require('./benchmarks/bullmq/node_modules/bullmq/package.json').version" 2>/dev/null || echo -)," \
    "ioredis $(node -p "require('./benchmarks/bullmq/node_modules/ioredis/package.json').version" 2>/dev/null || echo -)," \
    "redis $(redis-server --version | cut -d' ' -f3 | cut -d= -f2) (hz $(redis-cli -p "$PORT" config get hz | tail -1))"
  echo "# benchmarks/jobs.sh $N; retry $RETRY_N jobs; promote $PROMOTE_N; delayed $RATE/s for $SECS s; scenarios: $SCENARIOS; impls: $IMPLS; Brook JVM options: ${JOBS_JAVA_OPTS:-none}"
} | tee -a "$RESULTS"

# One implementation on one scenario: the RESULT/COMMANDS/WARN lines to the results, the rest
# (Brook's rate-limited ERROR lines of the failing first attempts, stack traces) to jobs.log.
run() { # impl, scenario, arguments
  local impl=$1 s=$2; shift 2
  echo "# load $(load) before $impl $s" >> "$RESULTS"
  echo "== $impl $s $*" >> "$LOG"
  if [ "$impl" = brook ]; then
    "$JAVA" --enable-native-access=ALL-UNNAMED ${JAVA_OPTS[@]+"${JAVA_OPTS[@]}"} -cp "$CP" dev.brook.bench.Jobs "$URL" "$@" >> "$LOG" 2>&1 || echo "FAILED brook $s" >> "$LOG"
  else
    node benchmarks/bullmq/jobs.js "$URL" "$@" >> "$LOG" 2>&1 || echo "FAILED bullmq $s" >> "$LOG"
  fi
  sed -n '/^== '"$impl $s"' /,$p' "$LOG" | grep -E '^(RESULT|COMMANDS|WARN|FAILED)' | tee -a "$RESULTS" | grep -E '^(RESULT|WARN|FAILED)' || true
  redis-cli -p "$PORT" flushall >/dev/null
}
for s in $SCENARIOS; do
  case $s in
    drain-c1) args=(drain "$N" 1) ;;
    drain-c50) args=(drain "$N" 50) ;;
    retry-*ms) b=${s#retry-}; args=(retry "$RETRY_N" 50 "${b%ms}") ;;   # fixed back-off, concurrency 50
    promote) args=(promote "$PROMOTE_N" 50 8000) ;;   # due 8 s after the start: after the publishing
    delayed) args=(delayed "$RATE" "$SECS" 500 3000 50) ;;
    *) echo "Unknown scenario $s; use drain-c1 drain-c50 retry-<n>ms promote delayed" >&2; exit 2 ;;
  esac
  for impl in $IMPLS; do
    run "$impl" "$s" "${args[@]}"
  done
done
echo "# $(date -u +%FT%TZ) done, load $(load)" >> "$RESULTS"

"$JAVA" -cp "$CP" dev.brook.bench.JobsReport "$RESULTS" | tee "$OUT/report.md"
echo "Results: $RESULTS; table: $OUT/report.md; log: $LOG"
