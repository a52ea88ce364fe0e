#!/usr/bin/env bash
# End-to-end benchmarks: Brook's batch paths against redis-benchmark on the same private
# redis-server, in one run, reported as ratios (this machine is shared and noisy).
#   benchmarks/run.sh [messages] [size] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}; SIZE=${2:-100}; RUNS=${3:-3}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -pl benchmarks -am package -DskipTests
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize yes --logfile "$DIR/redis.log" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
rb() { redis-benchmark -p "$PORT" -P 100 -n "$N" -d "$SIZE" -q "$@" | tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1; }
LPUSH=$(rb -t lpush)
XADD=$(rb XADD benchstream MAXLEN '~' 1000000 '*' __data__ __data__)
redis-cli -p "$PORT" flushall >/dev/null
LIST=$("$JAVA" -cp "$CP" dev.brook.bench.EndToEnd "redis://127.0.0.1:$PORT" list-batch "$N" "$SIZE" "$RUNS" | tee /dev/stderr | sed -n 's/.*median=\([0-9]*\).*/\1/p')
STREAM=$("$JAVA" -cp "$CP" dev.brook.bench.EndToEnd "redis://127.0.0.1:$PORT" stream-group "$N" "$SIZE" "$RUNS" | tee /dev/stderr | sed -n 's/.*median=\([0-9]*\).*/\1/p')
echo
echo "| scenario ($SIZE-byte messages, $N per run, median of $RUNS) | msgs/s | reference (redis-benchmark -P 100) | ratio |"
echo "|---|---|---|---|"
printf "| List: publishBatch 100 per RPUSH + batch(100) consumer, reliable | %s | LPUSH %s | %.2f |\n" "$LIST" "$LPUSH" "$(echo "$LIST / $LPUSH" | bc -l)"
printf "| Stream group: pipelined XADD + XREADGROUP COUNT 100 + one XACK per batch | %s | XADD %s | %.2f |\n" "$STREAM" "$XADD" "$(echo "$STREAM / $XADD" | bc -l)"
