#!/usr/bin/env bash
# End-to-end benchmarks: Brook against the native client (benchmarks/native/e2e.c: plain C, raw
# RESP, the same end-to-end work with no framework — the limit), a hand-written Lettuce loop,
# Spring Data Redis and redis-benchmark, on one private redis-server, in one run; every figure is
# also reported as a ratio to the references of the same run (this machine is shared and noisy).
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

# The native client: built here with the C compiler, run RUNS times per scenario (median, min, max;
# CPU per message from the shell's user+sys time of the process, both of its threads).
NATIVE="$OUT/e2e"
cc -O2 -pthread -o "$NATIVE" benchmarks/native/e2e.c
native() { # scenario, messages
  local s=$1 n=$2 args field unit rates=() cpus=() out t
  case $s in
    pubsub) args=(pubsub "$PORT" "$n" "$SIZE" 100); field=e2e_msgs/s; unit=msgs/s ;;
    list-batch) args=(list "$PORT" "$n" "$SIZE" 100); field=e2e_msgs/s; unit=msgs/s ;;
    stream-group) args=(stream "$PORT" "$n" "$SIZE" 100); field=e2e_msgs/s; unit=msgs/s ;;
    ping-pong) args=(pingpong "$PORT" "$n" "$SIZE"); field=msgs/s; unit=rt/s ;;
    latency-1k) args=(rate "$PORT" 1000 $((n / 1000)) "$SIZE") ;;
    latency-10k) args=(rate "$PORT" 10000 $((n / 10000)) "$SIZE") ;;
    *) return 0 ;; # request-reply: no native counterpart
  esac
  if [ -z "${field:-}" ]; then # paced latency: one run, percentiles from the scheduled send time
    out=$("$NATIVE" "${args[@]}")
    echo "$out" >> "$RESULTS"
    echo "$out" | awk -v s="$s" '/^lat_us/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "RESULT impl=native scenario=%s unit=us p50=%.0f p99=%.0f p999=%.0f max=%.0f lost=0 runs=1\n", s, v["p50"], v["p99"], v["p99.9"], v["max"] }' \
      | tee -a "$RESULTS" | grep '^RESULT'
    redis-cli -p "$PORT" flushall >/dev/null
    return 0
  fi
  for _ in $(seq "$RUNS"); do
    t=$(mktemp)
    out=$( { TIMEFORMAT='%U %S'; time "$NATIVE" "${args[@]}"; } 2>"$t" )
    echo "native $s: $out" >> "$RESULTS"
    rates+=("$(echo "$out" | tr ' ' '\n' | sed -n "s|^$field=||p" | head -1)")
    cpus+=("$(awk -v n="$n" '{ printf "%.2f", ($1 + $2) * 1e6 / n }' "$t")")
    rm -f "$t"
    redis-cli -p "$PORT" flushall >/dev/null
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk -v s="$s" -v u="$unit" -v c="$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
    '{ a[NR] = $1 } END { printf "RESULT impl=native scenario=%s unit=%s median=%s min=%s max=%s cpu_us=%s lost=0 runs=%d\n", s, u, a[int((NR + 1) / 2)], a[1], a[NR], c, NR }' \
    | tee -a "$RESULTS" | grep '^RESULT'
}

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
  native "$s" "$n"
  run dev.brook.bench.EndToEnd "$s" "$n"
  run dev.brook.bench.reference.LettuceLoop "$s" "$n"
  # Issue 21's experiment: the Lettuce loop with a blocking-socket subscriber on a virtual thread
  # (RawSocketPubSub): what replacing Lettuce on the hot read path would buy. Not a Brook figure.
  case $s in pubsub|latency-1k|latency-10k) run dev.brook.bench.reference.RawSocketPubSub "$s" "$n" ;; esac
  # Spring with one listener thread per container instead of its default new thread per message:
  # the faster of the two, so Brook is compared with Spring at its best.
  JAVA_OPTS_SPRING=-Dbrook.bench.spring.executor=single run dev.brook.bench.reference.SpringDataRedis "$s" "$n"
done

"$JAVA" -cp "$CP" dev.brook.bench.Report "$RESULTS" | tee "$OUT/report.md"
"$JAVA" -Djava.awt.headless=true -cp "$CP" dev.brook.bench.Chart "$RESULTS" "$OUT/chart.png"
echo "Results: $RESULTS; table: $OUT/report.md; chart: $OUT/chart.png"
