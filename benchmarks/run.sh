#!/usr/bin/env bash
# End-to-end benchmarks: Brook against a hand-written Lettuce loop, Spring Data Redis and
# redis-benchmark, on one private redis-server, in one run; every figure is also reported as a
# ratio to the references of the same run (this machine is shared and noisy).
#   benchmarks/run.sh [messages] [size] [runs]        e.g. benchmarks/run.sh 200000 100 3
# Env: BENCH_SKIP_BUILD=1 reuses the last build; BENCH_SCENARIOS="pubsub list-batch" runs a subset;
#      BENCH_OUT=dir (default benchmarks/target/results) receives results.txt, report.md, chart.png.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}; SIZE=${2:-100}; RUNS=${3:-3}
SCENARIOS=${BENCH_SCENARIOS:-pubsub list-batch stream-group ping-pong request-reply latency-1k latency-10k}
OUT=${BENCH_OUT:-benchmarks/target/results}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -pl benchmarks -am package -DskipTests
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: > "$RESULTS"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
URL="redis://127.0.0.1:$PORT"
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $("$JAVA" -version 2>&1 | head -1), $(redis-server --version | cut -d' ' -f3)"
  echo "# benchmarks/run.sh $N $SIZE $RUNS; scenarios: $SCENARIOS"
} >> "$RESULTS"

# redis-benchmark: Redis' own ceiling for the write side (no envelope, no acknowledgement), -P 100.
# It substitutes no placeholder in custom commands, so the payload is spelled out.
DATA=$(head -c "$SIZE" /dev/zero | tr '\0' x)
rb() { # scenario, then redis-benchmark arguments
  local s=$1; shift
  local rate
  rate=$(redis-benchmark -p "$PORT" -P 100 -n "$N" -q "$@" | tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
  echo "RESULT impl=redis-benchmark scenario=$s unit=msgs/s median=$rate min=$rate max=$rate cpu_us=0 lost=0 runs=1" | tee -a "$RESULTS"
  redis-cli -p "$PORT" flushall >/dev/null
}
for s in $SCENARIOS; do
  case $s in
    pubsub) # with one subscriber reading, as in the scenario
      redis-cli -p "$PORT" subscribe benchchannel >/dev/null & SUB=$!
      until [ "$(redis-cli -p "$PORT" pubsub numsub benchchannel | tail -1)" = 1 ]; do sleep 0.1; done
      rb pubsub PUBLISH benchchannel "$DATA"
      kill "$SUB" 2>/dev/null || true; wait "$SUB" 2>/dev/null || true ;;  # Redis may have cut a slow reader off
    list-batch) rb list-batch RPUSH benchlist "$DATA" ;;
    stream-group) rb stream-group XADD benchstream '*' d "$DATA" ;;
  esac
done

# Each implementation in its own JVM, one scenario at a time, so none warms or loads the other.
run() { # implementation main class, scenario, messages
  # shellcheck disable=SC2086
  "$JAVA" --enable-native-access=ALL-UNNAMED ${JAVA_OPTS_SPRING:-} -cp "$CP" "$1" "$URL" "$2" "$3" "$SIZE" "$RUNS" 2>&1 | tee -a "$RESULTS" | grep -E '^(RESULT|SKIP)' || true
  redis-cli -p "$PORT" flushall >/dev/null
}
for s in $SCENARIOS; do
  case $s in
    ping-pong|request-reply) n=$((N / 10)) ;;
    latency-1k) n=20000 ;;     # 20 s at 1k/s
    latency-10k) n=200000 ;;   # 20 s at 10k/s
    *) n=$N ;;
  esac
  run dev.brook.bench.EndToEnd "$s" "$n"
  run dev.brook.bench.reference.LettuceLoop "$s" "$n"
  # Spring with one listener thread per container instead of its default new thread per message:
  # the faster of the two, so Brook is compared with Spring at its best.
  JAVA_OPTS_SPRING=-Dbrook.bench.spring.executor=single run dev.brook.bench.reference.SpringDataRedis "$s" "$n"
done

"$JAVA" -cp "$CP" dev.brook.bench.Report "$RESULTS" | tee "$OUT/report.md"
"$JAVA" -Djava.awt.headless=true -cp "$CP" dev.brook.bench.Chart "$RESULTS" "$OUT/chart.png"
echo "Results: $RESULTS; table: $OUT/report.md; chart: $OUT/chart.png"
