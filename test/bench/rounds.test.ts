/**
 * The benchmark's rounds (`bench/harness/rounds.ts`): the order in which interleaved rounds visit
 * a framework's contenders, and the median round the report shows.
 */

import { describe, expect, it } from 'vitest';
import type { Round } from '../../bench/harness/plan.js';
import { medianRound, roundOrder } from '../../bench/harness/rounds.js';

function round(rps: number, cpuUs: number, extra: Partial<Round> = {}): Round {
  return { rps, p50: 1, p99: 5, cpuUs, cmds: 0, trips: 0, requests: 1000, failures: 0, ...extra };
}

describe('benchmark rounds', () => {
  it('visits every contender once per round, each round starting one further along', () => {
    const orders = [0, 1, 2, 3].map((i) => roundOrder(4, i));
    expect(orders).toEqual([
      [0, 1, 2, 3],
      [1, 2, 3, 0],
      [2, 3, 0, 1],
      [3, 0, 1, 2],
    ]);
    for (const order of orders) expect([...order].sort()).toEqual([0, 1, 2, 3]);
    expect(roundOrder(3, 4)).toEqual([1, 2, 0]);
    expect(roundOrder(0, 1)).toEqual([]);
  });

  it('takes the median of each figure, sums the failures, and keeps one round’s command set', () => {
    const median = medianRound([
      round(900, 30, { failures: 1, cmds: 5, redisByCommand: { get: 1, evalsha: 1, set: 3 } }),
      round(1000, 10, { cmds: 3, redisByCommand: { get: 1, evalsha: 1, set: 1 } }),
      round(1100, 20, { failures: 2, cmds: 4, redisByCommand: { get: 2, evalsha: 1, set: 1 } }),
    ]);
    expect(median.rps).toBe(1000);
    expect(median.cpuUs).toBe(20);
    expect(median.failures).toBe(3);
    expect(median.redisByCommand).toEqual({ get: 2, evalsha: 1, set: 1 });
    expect(medianRound([round(100, 10), round(300, 30)]).rps).toBe(200);
  });
});
