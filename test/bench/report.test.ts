/**
 * The benchmark report (`bench/harness/report*.ts`) rendered from a hand-made run: ratios to the
 * bare framework, the floor and the best peer; target rows; GC and store columns; the sealed
 * token per transport and the hybrid over Redis; the hand-written section kept across runs;
 * results of older runs still render.
 */

import { describe, expect, it } from 'vitest';
import {
  CONTENDERS,
  type ContenderResult,
  QUICK,
  type Round,
  type RunResult,
} from '../../bench/harness/plan.js';
import { handWritten, renderMarkdown } from '../../bench/harness/report.js';

function round(rps: number, cpuUs: number, extra: Partial<Round> = {}): Round {
  return {
    rps,
    p50: 1,
    p99: 5,
    cpuUs,
    cmds: 0,
    trips: 0,
    gcMinor: 1.5,
    gcMajor: 0.25,
    gcMs: 2,
    requests: 1000,
    failures: 0,
    ...extra,
  };
}

/** `id`'s result with the same median in A, B and C unless `by` gives one per scenario. */
function result(
  id: string,
  by: Partial<Record<'A' | 'B' | 'C', Round>>,
  more: Partial<ContenderResult> = {},
): ContenderResult {
  const contender = CONTENDERS.find((c) => c.id === id);
  if (contender === undefined) throw new Error(`no contender ${id}`);
  const scenarios: ContenderResult['scenarios'] = {};
  for (const [scenario, median] of Object.entries(by)) {
    scenarios[scenario as 'A'] = { rounds: [median], median };
  }
  return { contender, scenarios, burst: [], ...more };
}

function run(results: ContenderResult[]): RunResult {
  return {
    config: QUICK,
    date: '2026-11-29T00:00:00.000Z',
    elapsedMs: 60_000,
    machine: { cpus: '2', model: 'test', node: 'v20', commit: 'abc' },
    redisNoisePerSecond: 0,
    results,
  };
}

/** The table row of `library` on `framework` + `store` in scenario `scenario`'s table. */
function row(markdown: string, scenario: string, cells: string): string[] {
  const table = markdown.slice(markdown.indexOf(`## ${scenario} — `));
  const line = table.split('\n').find((l) => l.startsWith(`| ${cells} |`));
  if (line === undefined) throw new Error(`no row ${cells}`);
  return line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, ''));
}

const sample = (): RunResult =>
  run([
    result('bare-node', { A: round(20_000, 10), B: round(20_000, 10), C: round(20_000, 12) }),
    result('floor-node-redis', { B: round(9_000, 30), C: round(7_000, 40) }),
    result(
      'sessionkit-node-redis',
      {
        A: round(19_000, 10.4),
        B: round(8_000, 33),
        C: round(5_000, 60, {
          cmds: 4.02,
          trips: 2,
          redisByCommand: { evalsha: 1, get: 2, set: 1, hset: 0.02 },
        }),
      },
      { burst: [{ ok: 200, failed: 0, final: 200, lost: 0 }] },
    ),
    result('bare-express', { A: round(10_000, 100), B: round(10_000, 90), C: round(10_000, 92) }),
    result('express-session-redis', { B: round(4_000, 200), C: round(4_000, 210) }),
    result('sessionkit-express-redis', { A: round(9_000, 110), B: round(6_000, 135) }),
    result('sessionkit-node-postgres', {}, { pgUpdates: { updates: 1000, hot: 250 } }),
  ]);

describe('benchmark report', () => {
  it('states each sessionkit figure against the bare framework, the floor and the best peer', () => {
    const md = renderMarkdown(sample(), 'chart.svg');
    // node:http + Redis read: 8,000 req/s vs floor 9,000; 33 µs vs floor 30, bare 10.
    expect(row(md, 'B', 'node:http | sessionkit | redis')).toEqual([
      'node:http',
      'sessionkit',
      'redis',
      '8,000',
      '0.40×',
      '0.89×',
      '—',
      '1',
      '5',
      '33',
      '3.30×',
      '1.10×',
      '—',
      '1.5 / 0.25',
      '2.0',
      '0.00',
      '0.00',
      '0',
    ]);
    // Express: no req/s floor; the CPU floor is bare Express + (floor − bare node) = 90 + 20.
    const express = row(md, 'B', 'Express 5 | sessionkit | redis');
    expect(express.slice(3, 13)).toEqual([
      '6,000',
      '0.60×',
      '—',
      '1.50×',
      '1',
      '5',
      '135',
      '1.50×',
      '1.23× †',
      '0.68×',
    ]);
    expect(md).toContain('† No floor of its own on that framework in this run');
  });

  it('reads Express against its own floor when the run has one, beside the peer targets', () => {
    const withFloor = sample();
    withFloor.results.push(
      result('floor-express-redis', { B: round(7_500, 120), C: round(5_000, 125) }),
    );
    const md = renderMarkdown(withFloor, 'chart.svg');
    // 6,000 / 7,500 req/s and 135 / 120 µs, no † (a measured floor, not a derived one).
    const express = row(md, 'B', 'Express 5 | sessionkit | redis');
    expect(express.slice(3, 13)).toEqual([
      '6,000',
      '0.60×',
      '0.80×',
      '1.50×',
      '1',
      '5',
      '135',
      '1.50×',
      '1.13×',
      '0.68×',
    ]);
    expect(md).not.toContain('† No floor of its own');
    // The floor's own row has no floor ratio, and the target names the floor's ratio to the peer.
    expect(row(md, 'B', 'Express 5 | floor | redis').slice(5, 6)).toEqual(['—']);
    expect(md).toContain(
      '| Read (B), Express 5 + redis: req/s ≥ 1.25× express-session + connect-redis | 1.50× (6,000 vs 4,000 req/s; the floor: 1.88×) | yes |',
    );
  });

  it('renders the targets of issues 12, 13 and 14 as target | measured | met', () => {
    const md = renderMarkdown(sample(), 'chart.svg');
    expect(md).toContain(
      '| Untouched (A), node:http: CPU/request ≤ 1.05× bare | redis 1.04× (bare 10.0 µs) | yes |',
    );
    expect(md).toContain(
      '| Untouched (A), Express 5: CPU/request ≤ 1.05× bare | redis 1.10× (bare 100.0 µs) | **no** |',
    );
    expect(md).toContain(
      '| Read (B), node:http + redis: CPU/request ≤ 1.2× the floor | 1.10× (33.0 µs vs 30.0 µs) | yes |',
    );
    expect(md).toContain(
      '| Write (C), node:http + redis: CPU/request ≤ 1.25× the floor | 1.50× (60.0 µs vs 40.0 µs) | **no** |',
    );
    expect(md).toContain(
      '| Read (B), Express 5 + redis: req/s ≥ 1.25× express-session + connect-redis | 1.50× (6,000 vs 4,000 req/s) | yes |',
    );
    expect(md).toContain(
      '| Write (C), Express 5 + redis: req/s ≥ 1.25× express-session + connect-redis | — | n/a |',
    );
    expect(md).toContain(
      '| 0 lost updates for sessionkit (server-side stores) in every burst | 0 lost in 1 trials over 1 contenders | yes |',
    );
    expect(md).toContain('### Issue 13: sealed cookies against iron-session');
    expect(md).toContain('### Issue 14: the express-session facade');
  });

  it('breaks Redis commands down by name without other clients’ noise, and shows HOT updates', () => {
    const md = renderMarkdown(sample(), 'chart.svg');
    expect(md).toContain(
      '| node:http | sessionkit | redis | — | EVALSHA 1.00, GET 2.00, SET 1.00 |',
    );
    expect(md).toContain('| node:http | sessionkit | postgres | 1,000 | 250 | 25.0 % |');
  });

  it('tells the sealed cookie from the same token in Bearer, each against iron-session', () => {
    const stateless = run([
      result('bare-node', { B: round(20_000, 10), C: round(20_000, 12) }),
      result('iron-session-node-cookie', { B: round(1_000, 400), C: round(500, 800) }),
      result('sessionkit-node-cookie-bearer', { B: round(7_000, 21), C: round(4_000, 30) }),
      result('sessionkit-node-cookie', { B: round(8_000, 20), C: round(6_000, 25) }),
    ]);
    const md = renderMarkdown(stateless, 'chart.svg');
    expect(md).toContain(
      '| Read (B), node:http, sealed cookie: req/s ≥ 6× iron-session 8.0.4 | 8.00× (8,000 vs 1,000 req/s) | yes |',
    );
    expect(md).toContain(
      '| Write (C), node:http, sealed token in Bearer: req/s ≥ 10× iron-session 8.0.4 | 8.00× (4,000 vs 500 req/s) | **no** |',
    );
    expect(md).toContain(
      '| Read (B), node:http, sealed token in Bearer: CPU/request ≤ bare node:http + 12 µs | 21.0 µs vs 10.0 µs (+11.0) | yes |',
    );
    // Its own row, read against iron-session (which only has cookies): 7,000 / 1,000 req/s.
    const bearer = row(md, 'B', 'node:http | sessionkit | sealed token in Bearer');
    expect(bearer.slice(3, 7)).toEqual(['7,000', '0.35×', '—', '7.00×']);
    expect(row(md, 'B', 'node:http | sessionkit | sealed cookie')[3]).toBe('8,000');
    // Without the cookie contender (`--only bearer`), its targets are not met by the Bearer one.
    const only = run(stateless.results.filter((r) => r.contender.id !== 'sessionkit-node-cookie'));
    expect(renderMarkdown(only, 'chart.svg')).toContain(
      '| Read (B), node:http, sealed cookie: req/s ≥ 6× iron-session 8.0.4 | — | n/a |',
    );
  });

  it('shows the hybrid’s denylist reads on Redis and holds its burst to no target', () => {
    const md = renderMarkdown(
      run([
        result('bare-node', { B: round(20_000, 10) }),
        result(
          'sessionkit-node-hybrid',
          { B: round(9_000, 30, { cmds: 1, trips: 1, redisByCommand: { get: 1 } }) },
          { burst: [{ ok: 200, failed: 0, final: 1, lost: 199 }] },
        ),
      ]),
      'chart.svg',
    );
    const cells = row(md, 'B', 'node:http | sessionkit | hybrid over Redis');
    expect(cells.slice(15, 17)).toEqual(['1.00', '1.00']);
    expect(md).toContain('| node:http | sessionkit | hybrid over Redis | GET 1.00 | — |');
    expect(md).toContain('| node:http | sessionkit | hybrid over Redis | 199 | 0 | 1 |');
    expect(md).toContain(
      '| 0 lost updates for sessionkit (server-side stores) in every burst | 0 lost in 0 trials over 0 contenders | n/a |',
    );
  });

  it('names every contender once; the Bearer and hybrid ones are selectable by --only', () => {
    const ids = CONTENDERS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id.includes('bearer'))).toEqual(['sessionkit-node-cookie-bearer']);
    expect(ids.filter((id) => id.includes('hybrid'))).toEqual(['sessionkit-node-hybrid']);
    expect(CONTENDERS.find((c) => c.id === 'sessionkit-node-hybrid')?.ioredis).toBe(true);
  });

  it('keeps the hand-written section of the previous report, up to the next heading', () => {
    const previous = [
      '# Benchmarks',
      '',
      '## Where the time goes',
      '',
      '- written by hand',
      '',
      '## A — old table',
    ].join('\n');
    expect(handWritten(previous)).toEqual(['## Where the time goes', '', '- written by hand']);
    const md = renderMarkdown(sample(), 'chart.svg', previous);
    expect(md).toContain('## Where the time goes\n\n- written by hand\n');
    expect(md).not.toContain('old table');
    expect(handWritten(undefined)[0]).toBe('## Where the time goes');
  });

  it('says how the contenders took turns: interleaved rounds, or one at a time in older runs', () => {
    const interleaved = renderMarkdown(sample(), 'chart.svg');
    expect(interleaved).toContain('**Interleaved rounds**');
    expect(interleaved).toContain(`preceded by\n  ${QUICK.settle} s of unmeasured load`);
    expect(interleaved).toContain('Before each warm-up and round of B and C the harness creates');
    expect(interleaved).toContain(`\`--min-semi-space-size=${QUICK.semiSpaceMiB}\``);
    const old = sample();
    old.config = { ...QUICK };
    delete old.config.settle;
    delete old.config.semiSpaceMiB;
    const md = renderMarkdown(old, 'chart.svg');
    expect(md).not.toContain('Interleaved');
    expect(md).not.toContain('semi-space');
    expect(md).toContain('- Contenders were started and measured one at a time.');
    expect(md).toContain('Before B and C the harness creates');
  });

  it('renders results of runs that recorded no GC, command breakdown or transport', () => {
    const old = sample();
    for (const r of old.results) {
      r.contender = { ...r.contender };
      delete r.contender.transport;
      for (const s of Object.values(r.scenarios)) {
        delete s.median.gcMinor;
        delete s.median.gcMajor;
        delete s.median.gcMs;
        delete s.median.redisByCommand;
      }
    }
    const cells = row(renderMarkdown(old, 'chart.svg'), 'B', 'node:http | sessionkit | redis');
    expect(cells.slice(13, 15)).toEqual(['—', '—']);
  });
});
