#!/usr/bin/env bash
# Partitioned streams on Redis Cluster (issue 17): one logical stream of 16 partitions on a cluster of
# 1 master and of 3 masters (private redis-server processes, no replicas), end-to-end msgs/s and the ratio.
#   benchmarks/partitions.sh [messages per round, default 200000] [rounds, default 3]
# Env: BENCH_SKIP_BUILD=1 reuses the last build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -o -pl benchmarks -am package -DskipTests
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
"$JAVA" -cp "$CP" dev.brook.bench.PartitionBenchmark "$@"
