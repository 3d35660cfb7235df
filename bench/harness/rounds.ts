/**
 * The rounds of a scenario (measured in `group.ts`): the median round the report shows, the
 * order in which interleaved rounds visit a framework's contenders, and the log line.
 */

import type { Round, Scenario } from './plan.js';

/** The median of each figure over `rounds` (failures: their sum). */
export function medianRound(rounds: readonly Round[]): Round {
  const m = (pick: (r: Round) => number): number => {
    const sorted = rounds.map(pick).sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  return {
    rps: m((r) => r.rps),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    cpuUs: m((r) => r.cpuUs),
    cmds: m((r) => r.cmds),
    trips: m((r) => r.trips),
    ...medianByCommand(rounds),
    gcMinor: m((r) => r.gcMinor ?? 0),
    gcMajor: m((r) => r.gcMajor ?? 0),
    gcMs: m((r) => r.gcMs ?? 0),
    requests: m((r) => r.requests),
    failures: rounds.reduce((sum, r) => sum + r.failures, 0),
  };
}

/** The Redis commands per request of the round whose total is the median (one consistent set). */
function medianByCommand(rounds: readonly Round[]): Pick<Round, 'redisByCommand'> {
  const sorted = rounds
    .filter((r) => r.redisByCommand !== undefined)
    .sort((x, y) => x.cmds - y.cmds);
  const mid = sorted[sorted.length >> 1];
  return mid === undefined ? {} : { redisByCommand: mid.redisByCommand ?? {} };
}

/**
 * The order in which round `round` visits `count` contenders: each round starts one further
 * along, so no contender is always measured right after the same neighbour or first after a
 * warm-up.
 */
export function roundOrder(count: number, round: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + round) % count);
}

/** The log line of a contender's scenario: its median round. */
export function roundLine(id: string, scenario: Scenario, median: Round): string {
  return (
    `${id.padEnd(30)} ${scenario}  ${median.rps.toFixed(0).padStart(6)} req/s  ` +
    `p50 ${median.p50} ms  p99 ${median.p99} ms  ${median.cpuUs.toFixed(0)} µs CPU/req  ` +
    `${median.trips.toFixed(2)} trips/req (${median.cmds.toFixed(2)} cmds)  ` +
    `GC/1k req: ${(median.gcMinor ?? 0).toFixed(1)} minor, ${(median.gcMajor ?? 0).toFixed(2)} major, ` +
    `${(median.gcMs ?? 0).toFixed(1)} ms${median.failures > 0 ? `  ${median.failures} failures` : ''}`
  );
}
