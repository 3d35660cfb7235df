#!/usr/bin/env bash
# Deterministic figures of the core alone (bench/core.ts): bytes allocated on the JavaScript heap
# and garbage collections per read and per write (V8's --trace-gc-nvp `allocated=` summed over the
# run; a run of N reads, one of N writes, one of neither, the setup subtracted), in one V8 thread
# with a fixed young generation. With CALLGRIND=1 also instructions per read and per write
# (valgrind --tool=callgrind, same subtraction; slow: use N of a few thousand).
# Usage: BENCH_SESSIONKIT_DIR=<tsc build> bench/core-measure.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
FLAGS=(--single-threaded --max-semi-space-size=8 --min-semi-space-size=8)
measure() { # reads writes -> "allocated scavenges markcompacts"
  node "${FLAGS[@]}" --trace-gc-nvp --import tsx bench/core.ts "$1" "$2" 2>&1 |
    awk '/ gc=/ { for (i = 1; i <= NF; i++) { if ($i ~ /^allocated=/) { split($i, a, "="); sum += a[2] }
           if ($i == "gc=s") s++; if ($i == "gc=mc" || $i == "gc=mmc") m++ } }
         END { printf "%d %d %d\n", sum, s, m }'
}
instructions() { # reads writes -> instructions
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" node "${FLAGS[@]}" --import tsx bench/core.ts "$1" "$2" >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$out"; rm -f "$out"
}
read -r a0 s0 m0 < <(measure 0 0)
read -r ar sr mr < <(measure "$N" 0)
read -r aw sw mw < <(measure 0 "$N")
echo "N=$N  allocated bytes/read: $(( (ar - a0) / N ))  /write: $(( (aw - a0) / N ))"
echo "scavenges per 1000 reads: $(awk "BEGIN{printf \"%.1f\", ($sr-$s0)*1000/$N}")  writes: $(awk "BEGIN{printf \"%.1f\", ($sw-$s0)*1000/$N}")  mark-compacts (reads, writes): $((mr - m0)), $((mw - m0))"
if [ "${CALLGRIND:-0}" = 1 ]; then
  i0=$(instructions 0 0); ir=$(instructions "$N" 0); iw=$(instructions 0 "$N")
  echo "instructions/read: $(( (ir - i0) / N ))  /write: $(( (iw - i0) / N ))"
fi
