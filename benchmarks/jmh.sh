#!/usr/bin/env bash
# JMH microbenchmarks of the per-message hot paths (issue 8): the envelope, the JSON codec and
# handler dispatch without Redis (dev.brook.bench.jmh). No server needed.
#   benchmarks/jmh.sh [JMH arguments]     e.g. benchmarks/jmh.sh -f 1 -wi 3 -w 1s -i 5 -r 1s -prof gc Envelope
# Arguments go to org.openjdk.jmh.Main as they are (-h lists them; a regex selects benchmarks).
# Env: BENCH_SKIP_BUILD=1 reuses the last build; BENCH_OUT=dir (default benchmarks/target/jmh)
#      receives results.json (unless -rf/-rff are given) and results.txt (the console output).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-benchmarks/target/jmh}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
[ -n "${BENCH_SKIP_BUILD:-}" ] || ./mvnw -q -pl benchmarks -am package -DskipTests
mkdir -p "$OUT"
CP="$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
RESULT=(-rf json -rff "$OUT/results.json")
for a in "$@"; do
  case $a in -rf|-rff) RESULT=() ;; esac
done
{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $("$JAVA" -version 2>&1 | head -1)"
  echo "# benchmarks/jmh.sh $*"
} > "$OUT/results.txt"
# JMH forks its measuring JVMs with this class path.
"$JAVA" -cp "$CP" org.openjdk.jmh.Main "${RESULT[@]}" "$@" 2>&1 | tee -a "$OUT/results.txt"
echo "Results: $OUT/results.txt${RESULT:+, $OUT/results.json}"
