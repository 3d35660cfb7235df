#!/usr/bin/env bash
# Deterministic figures of the core alone (bench/core.ts), reads and writes measured apart:
# - bytes allocated per request: the sampling heap profiler keeping collected objects (one sample
#   per 128 bytes on average, summed over the measured requests: ±1 % at N = 20000);
# - garbage collections per 1000 requests (--trace-gc), in one V8 thread with a fixed 8 MiB young
#   generation, the run of neither reads nor writes subtracted;
# - with CALLGRIND=1, instructions per request (valgrind --tool=callgrind, same subtraction; slow:
#   use an N of a few thousand).
# Usage: BENCH_SESSIONKIT_DIR=<tsc build of src> bench/core-measure.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
FLAGS=(--single-threaded --max-semi-space-size=8 --min-semi-space-size=8)
gcs() { # reads writes -> "scavenges markcompacts"
  node "${FLAGS[@]}" --trace-gc --import tsx bench/core.ts "$1" "$2" |
    awk '/Scavenge/ { s++ } /Mark-Compact/ { m++ } END { printf "%d %d\n", s, m }'
}
sampled() { # reads writes -> bytes allocated per request
  local out; out=$(mktemp)
  BENCH_HEAP_SAMPLE="$out" node "${FLAGS[@]}" --import tsx bench/core.ts "$1" "$2" >/dev/null
  node -e '
    const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const sum = (n) => n.selfSize + n.children.reduce((t, c) => t + sum(c), 0);
    console.log(Math.round(sum(p.head) / Number(process.argv[2])));' "$out" "$(($1 + $2))"
  rm -f "$out"
}
instructions() { # reads writes -> instructions
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" node "${FLAGS[@]}" --import tsx bench/core.ts "$1" "$2" >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$out"; rm -f "$out"
}
read -r s0 m0 < <(gcs 0 0)
read -r sr mr < <(gcs "$N" 0)
read -r sw mw < <(gcs 0 "$N")
per1000() { awk "BEGIN { printf \"%.2f\", ($1) * 1000 / $N }"; }
echo "N=$N  bytes allocated per read: $(sampled "$N" 0)  per write: $(sampled 0 "$N")"
echo "per 1000 reads: $(per1000 "$sr - $s0") scavenges, $(per1000 "$mr - $m0") mark-compacts; per 1000 writes: $(per1000 "$sw - $s0") scavenges, $(per1000 "$mw - $m0") mark-compacts"
if [ "${CALLGRIND:-0}" = 1 ]; then
  i0=$(instructions 0 0); ir=$(instructions "$N" 0); iw=$(instructions 0 "$N")
  echo "instructions per read: $(( (ir - i0) / N ))  per write: $(( (iw - i0) / N ))"
fi
