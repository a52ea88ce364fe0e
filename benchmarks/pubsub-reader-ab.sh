#!/usr/bin/env bash
# A/B of Brook's Pub/Sub read path (issue 21): Brook's own reader (a blocking socket on a platform
# thread, the default on a standalone Redis) against Lettuce's subscriber (-Dbrook.pubsub.reader=lettuce,
# a benchmark switch), alternating A and B back to back on one private redis-server, so that each pair
# ran under the same load of this shared machine: compare the ratios of a pair, not absolute figures.
#   benchmarks/pubsub-reader-ab.sh [messages] [pairs]     e.g. benchmarks/pubsub-reader-ab.sh 200000 3
# Env: BENCH_SKIP_BUILD=1 reuses the last build; BENCH_SCENARIOS (default "pubsub latency-1k"; "consume":
#      the subscriber alone, EndToEnd consume while redis-benchmark -P 100 floods its channel from another
#      process, twice what it waits for, since a flood overruns the subscription's buffer and drops some).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}; PAIRS=${2:-3}; SIZE=100
SCENARIOS=${BENCH_SCENARIOS:-pubsub latency-1k}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -o -pl benchmarks -am package -DskipTests
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N x $SIZE B; pairs: $PAIRS"
for pair in $(seq "$PAIRS"); do
  for s in $SCENARIOS; do
    n=$N
    case $s in latency-1k) n=$((N / 20)) ;; esac # 10 s at 1k msgs/s for N=200000
    for reader in socket lettuce; do
      if [ "$s" = consume ]; then
        redis-cli -p "$PORT" config set client-output-buffer-limit "pubsub 0 0 0" >/dev/null
        fifo=$(mktemp -u); mkfifo "$fifo"
        "$JAVA" -Dbrook.pubsub.reader=$reader -cp "$CP" dev.brook.bench.EndToEnd "redis://127.0.0.1:$PORT" consume "$n" "$SIZE" 1 \
          > "$fifo" 2>&1 & pid=$!
        while read -r line; do
          case $line in
            READY) redis-benchmark -p "$PORT" -P 100 -n $((2 * n)) -q PUBLISH bench-consume "$(head -c "$SIZE" /dev/zero | tr '\0' x)" >/dev/null & ;;
            CONSUME*) echo "pair=$pair reader=$reader $line" ;;
          esac
        done < "$fifo"
        wait "$pid" || true; rm -f "$fifo"
        continue
      fi
      out=$("$JAVA" --enable-native-access=ALL-UNNAMED -Dbrook.pubsub.reader=$reader -cp "$CP" dev.brook.bench.EndToEnd \
        "redis://127.0.0.1:$PORT" "$s" "$n" "$SIZE" 1 2>&1 | grep -E '^RESULT|context switches' || true)
      echo "$out" | sed "s/^/pair=$pair reader=$reader /"
      redis-cli -p "$PORT" flushall >/dev/null
    done
  done
done
