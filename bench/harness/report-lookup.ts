/**
 * What every part of the report shares: names and colours, finding a contender's baselines in a
 * run (bare framework, floor, best peer) and the ratios to them, and number formatting.
 */

import {
  type Contender,
  type ContenderResult,
  type Framework,
  type Library,
  type Round,
  type RunResult,
  type Scenario,
  stateless,
  type Transport,
  transportOf,
} from './plan.js';

/** Display name of each framework. */
export const FRAMEWORK_NAMES: Record<Framework, string> = {
  node: 'node:http',
  express: 'Express 5',
  fastify: 'Fastify 5',
};

/** Chart colour of each library. */
export const COLORS: Record<Library, string> = {
  bare: '#9ca3af',
  floor: '#4b5563',
  'express-session': '#d97706',
  '@fastify/session': '#7c3aed',
  sessionkit: '#2563eb',
  'sessionkit/express-session': '#0891b2',
  'iron-session': '#059669',
};

/** The libraries users would pick instead of sessionkit. */
const PEERS: readonly Library[] = ['express-session', '@fastify/session', 'iron-session'];

/** `true` for sessionkit and its express-session facade. */
export function ours(c: Contender): boolean {
  return c.library === 'sessionkit' || c.library === 'sessionkit/express-session';
}

/** The median round of `r` in `scenario`, if it ran. */
export function medianOf(r: ContenderResult | undefined, scenario: Scenario): Round | undefined {
  return r?.scenarios[scenario]?.median;
}

/** The contender of `library` on `framework`, `store` (any store for `bare`) and `transport`. */
export function find(
  run: RunResult,
  framework: Framework,
  library: Library,
  store: string,
  transport: Transport = 'cookie',
): ContenderResult | undefined {
  return run.results.find(
    (r) =>
      r.contender.framework === framework &&
      r.contender.library === library &&
      (library === 'bare' || r.contender.store === store) &&
      transportOf(r.contender) === transport,
  );
}

/** The bare framework `r` runs on. */
export function bareOf(run: RunResult, framework: Framework): ContenderResult | undefined {
  return find(run, framework, 'bare', 'none');
}

/**
 * The best peer of `r` in `scenario` (same framework and store, whatever the transport: the peers
 * only have cookies): the most req/s, or the least CPU per request.
 */
export function bestPeer(
  run: RunResult,
  r: ContenderResult,
  scenario: Scenario,
  by: 'rps' | 'cpu',
): ContenderResult | undefined {
  let best: ContenderResult | undefined;
  for (const other of run.results) {
    const c = other.contender;
    if (!PEERS.includes(c.library) || c.framework !== r.contender.framework) continue;
    if (c.store !== r.contender.store) continue;
    const mine = medianOf(other, scenario);
    const theirs = medianOf(best, scenario);
    if (mine === undefined) continue;
    if (
      theirs === undefined ||
      (by === 'rps' ? mine.rps > theirs.rps : mine.cpuUs < theirs.cpuUs)
    ) {
      best = other;
    }
  }
  return best;
}

/** `r`'s req/s over its best peer's (the one with the most req/s). */
export function rpsToPeer(
  run: RunResult,
  r: ContenderResult,
  scenario: Scenario,
): number | undefined {
  return divide(
    medianOf(r, scenario)?.rps,
    medianOf(bestPeer(run, r, scenario, 'rps'), scenario)?.rps,
  );
}

/** `r`'s req/s over the bare framework's. */
export function rpsToBare(
  run: RunResult,
  r: ContenderResult,
  scenario: Scenario,
): number | undefined {
  const bare = bareOf(run, r.contender.framework);
  return divide(medianOf(r, scenario)?.rps, medianOf(bare, scenario)?.rps);
}

/** The floor contender on `framework` and `store` (node:http and Express), if the run has one. */
export function floorOn(
  run: RunResult,
  store: string,
  framework: Framework = 'node',
): ContenderResult | undefined {
  return find(run, framework, 'floor', store);
}

/**
 * The floor's CPU µs per request for `r`'s framework, store and scenario: the floor on that
 * framework if the run has one (node:http, Express); otherwise (Fastify) the bare framework plus
 * the floor's cost over bare node:http (`derived: true`). `undefined` when there is no floor for
 * the store (cookie, JWT).
 */
export function floorCpu(
  run: RunResult,
  r: ContenderResult,
  scenario: Scenario,
): { cpuUs: number; derived: boolean } | undefined {
  if (stateless(r.contender)) return undefined;
  const own = medianOf(floorOn(run, r.contender.store, r.contender.framework), scenario)?.cpuUs;
  if (own !== undefined) return { cpuUs: own, derived: false };
  const floor = medianOf(floorOn(run, r.contender.store), scenario)?.cpuUs;
  if (floor === undefined) return undefined;
  if (r.contender.framework === 'node') return { cpuUs: floor, derived: false };
  const bareNode = medianOf(bareOf(run, 'node'), scenario)?.cpuUs;
  const bareHere = medianOf(bareOf(run, r.contender.framework), scenario)?.cpuUs;
  if (bareNode === undefined || bareHere === undefined) return undefined;
  return { cpuUs: bareHere + floor - bareNode, derived: true };
}

/** `a / b`, or `undefined` when either is missing or `b` is 0. */
export function divide(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** Framework, library and store (with a Bearer transport: and where the token travels). */
export function label(c: Contender): [string, string, string] {
  const store = storeLabel(c);
  return [
    FRAMEWORK_NAMES[c.framework],
    c.library,
    transportOf(c) === 'bearer' ? `${store.replace(/ cookie$/, ' token')} in Bearer` : store,
  ];
}

function storeLabel(c: Contender): string {
  const connectName = {
    memory: 'MemoryStore',
    redis: 'connect-redis',
    postgres: 'connect-pg-simple',
    cookie: 'sealed cookie',
    jwt: 'JWT',
    hybrid: 'hybrid over Redis',
  };
  return c.store === 'none'
    ? '—'
    : stateless(c)
      ? connectName[c.store]
      : c.library === 'floor'
        ? c.store
        : // Results of runs before the facade joined have no `connect`: only sessionkit was native.
          (c.connect ?? c.library !== 'sessionkit')
          ? connectName[c.store]
          : c.library === 'sessionkit'
            ? c.store
            : `sessionkit ${c.store}`;
}

/** The contender's label of `label`, as one string. */
export function name(c: Contender): string {
  const [framework, library, store] = label(c);
  return `${framework} · ${library}${store === '—' ? '' : ` · ${store}`}`;
}

/** An integer with thousands separators. */
export function num(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

/** Milliseconds: integers as they are, else one decimal. */
export function ms(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A ratio: `1.23×`. */
export function x(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/** A ratio, or `—` when it cannot be computed. */
export function xOrDash(ratio: number | undefined): string {
  return ratio === undefined ? '—' : x(ratio);
}

/** Text escaped for SVG. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
