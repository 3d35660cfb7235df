/**
 * `node --import tsx bench/callgrind-diff.ts [--self] <dir> <name> <requests> [top]` — where the
 * measured requests of `bench/express-measure.ts --callgrind --callgrind-keep <dir>` spent their
 * instructions: for every function, its inclusive instructions (with `--self`: its own, callees
 * excluded, summed over its JIT copies) in the run with the measured requests
 * (`<name>.1.callgrind`) less those in the run without them (`<name>.0.callgrind`), per request,
 * largest first. JIT-compiled JavaScript, which callgrind sees only as addresses,
 * is named through the perf map node wrote beside each run (`--perf-basic-prof`), so a function
 * is matched by its name across the two runs. Needs `callgrind_annotate` (valgrind). Not part of
 * `npm run bench`.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const self = args[0] === '--self';
const [dir, name, requestsArg, topArg = '60'] = self ? args.slice(1) : args;
if (dir === undefined || name === undefined || requestsArg === undefined) {
  process.stderr.write('usage: callgrind-diff.ts [--self] <dir> <name> <requests> [top]\n');
  process.exit(2);
}
const requests = Number(requestsArg);

/** A perf map: sorted code ranges and their names. */
interface PerfMap {
  starts: number[];
  ends: number[];
  names: string[];
}

function readMap(file: string): PerfMap {
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [start = '0', size = '0', ...rest] = line.split(' ');
      const from = Number.parseInt(start, 16);
      return { from, to: from + Number.parseInt(size, 16), name: rest.join(' ') };
    })
    .sort((a, b) => a.from - b.from);
  return {
    starts: rows.map((r) => r.from),
    ends: rows.map((r) => r.to),
    names: rows.map((r) => r.name),
  };
}

function nameAt(map: PerfMap, address: number): string {
  let lo = 0;
  let hi = map.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((map.starts[mid] ?? 0) <= address) lo = mid;
    else hi = mid - 1;
  }
  return (map.starts[lo] ?? Infinity) <= address && address < (map.ends[lo] ?? 0)
    ? (map.names[lo] ?? '???')
    : '???';
}

/** Instructions by function name in one callgrind output: inclusive, or self with `--self`. */
function inclusive(run: number): Map<string, number> {
  const base = join(dir as string, `${name}.${run}`);
  const map = readMap(`${base}.map`);
  const text = execFileSync(
    'callgrind_annotate',
    [`--inclusive=${self ? 'no' : 'yes'}`, '--threshold=100', `${base}.callgrind`],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (match === null) continue;
    let fn = match[2] ?? '';
    const jit = /\?\?\?:0x([0-9a-f]+)/.exec(fn);
    if (jit !== null) fn = nameAt(map, Number.parseInt(jit[1] ?? '0', 16));
    fn = fn.replace(/ \[[^\]]*\]$/, '');
    // A function can appear more than once (recursion marks, several JIT copies): inclusive
    // figures overlap, so keep the largest; self figures do not, so add them up.
    const value = Number((match[1] ?? '0').replaceAll(',', ''));
    const before = totals.get(fn) ?? 0;
    totals.set(fn, self ? before + value : Math.max(before, value));
  }
  return totals;
}

// With `--callgrind-toggle` only the measured requests were counted: there is no run 0.
const without = existsSync(join(dir, `${name}.0.callgrind`)) ? inclusive(0) : new Map();
const withRequests = inclusive(1);
const rows = [...withRequests]
  .map(([fn, value]) => ({ fn, per: (value - (without.get(fn) ?? 0)) / requests }))
  .sort((a, b) => b.per - a.per)
  .slice(0, Number(topArg));
for (const { fn, per } of rows) {
  process.stdout.write(`${Math.round(per).toString().padStart(9)}  ${fn.slice(0, 140)}\n`);
}
