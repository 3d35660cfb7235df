#!/usr/bin/env bash
# Load-independent figures of the sealed cookie's per-request work (bench/sealed-micro.ts: the
# `sessionkit-node-cookie` contender's read and write without HTTP), reads and writes apart:
# - bytes allocated per request: the sampling heap profiler keeping collected objects, over the
#   measured loop only (±1 % at N = 20000);
# - garbage collections per 1000 requests (--trace-gc, one V8 thread, an 8 MiB young
#   generation), a run of the same mode with 0 measured requests (the warm-up only) subtracted;
# - with CALLGRIND=1, instructions per request: callgrind counting the measured loop only
#   (--instr-atstart=no), the difference of N and 3N requests over 2N (warm-up cancels out).
#   Slow: an N of a few thousand (2000: about ten minutes on a loaded machine).
# Usage: bench/sealed-measure.sh [N] after `npx tsc -p tsconfig.build.json --outDir .bench-out/dist`
# (or with BENCH_SESSIONKIT_DIR set to a `file:` URL of another build).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
FLAGS=(--single-threaded --max-semi-space-size=8 --min-semi-space-size=8)
micro() { node "${FLAGS[@]}" --no-warnings --import tsx bench/sealed-micro.ts "$@"; }
gcs() { # mode n -> "scavenges markcompacts"
  node "${FLAGS[@]}" --no-warnings --trace-gc --import tsx bench/sealed-micro.ts "$1" "$2" |
    awk '/Scavenge/ { s++ } /Mark-Compact/ { m++ } END { printf "%d %d\n", s, m }'
}
sampled() { # mode -> bytes allocated per request
  local out; out=$(mktemp)
  BENCH_HEAP_SAMPLE="$out" micro "$1" "$N" >/dev/null
  node -e '
    const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const sum = (n) => n.selfSize + n.children.reduce((t, c) => t + sum(c), 0);
    console.log(Math.round(sum(p.head) / Number(process.argv[2])));' "$out" "$N"
  rm -f "$out"
}
instructions() { # mode n -> instructions of the measured loop
  local out; out=$(mktemp)
  CALLGRIND=1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    node "${FLAGS[@]}" --no-warnings --import tsx bench/sealed-micro.ts "$1" "$2" >/dev/null 2>&1
  awk '/^totals:/ { print $2 }' "$out"; rm -f "$out"
}
per1000() { awk "BEGIN { printf \"%.2f\", ($1) * 1000 / $N }"; }
read -r r0 rm0 < <(gcs read 0)
read -r w0 wm0 < <(gcs write 0)
read -r sr mr < <(gcs read "$N")
read -r sw mw < <(gcs write "$N")
echo "N=$N  bytes allocated per read: $(sampled read)  per write: $(sampled write)"
echo "per 1000 reads: $(per1000 "$sr - $r0") scavenges, $(per1000 "$mr - $rm0") mark-compacts; per 1000 writes: $(per1000 "$sw - $w0") scavenges, $(per1000 "$mw - $wm0") mark-compacts"
if [ "${CALLGRIND:-0}" = 1 ]; then
  for mode in read write; do
    a=$(instructions "$mode" "$N"); b=$(instructions "$mode" $((3 * N)))
    echo "instructions per $mode: $(( (b - a) / (2 * N) ))"
  done
fi
