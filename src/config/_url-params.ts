/**
 * Private module (never in the exports map): a store URL's query parameters — the ones each
 * kind accepts, and their integer and boolean values. Every error is a `ConfigError` that names
 * the parameter but never echoes its value: a URL may hold a password.
 */

import { ConfigError } from '../core/errors.js';
import type { StoreKind } from './_url-spec.js';

/** Query parameters each kind accepts (anything else is refused). */
const PARAMS: Readonly<
  Record<Exclude<StoreKind, 'tiered' | 'cookie' | 'hybrid'>, readonly string[]>
> = {
  memory: ['maxEntries'],
  file: ['fsync'],
  sqlite: ['table', 'busyTimeout'],
  redis: ['prefix', 'client', 'connectTimeout'],
  postgres: ['table', 'poolSize', 'connectTimeout', 'ssl', 'prepare'],
  mysql: ['table', 'poolSize', 'connectTimeout', 'ssl'],
};

/** The query parameters, checked against the kind's list (never echoing a value). */
export function readParams(
  kind: Exclude<StoreKind, 'tiered' | 'cookie' | 'hybrid'>,
  query: string,
): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const [name, value] of new URLSearchParams(query)) {
    if (!PARAMS[kind].includes(name)) {
      throw new ConfigError(
        `Unknown parameter \`${name.slice(0, 40)}\` in the ${kind} store URL; it accepts ${PARAMS[kind].map((p) => `\`${p}\``).join(', ')}.`,
      );
    }
    if (params.has(name)) {
      throw new ConfigError(`Parameter \`${name}\` appears twice in the ${kind} store URL.`);
    }
    params.set(name, value);
  }
  return params;
}

/** Parameter `name` as an integer from `min` to `max`, or `undefined` when absent. */
export function integer(
  params: Map<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new ConfigError(
      `Store URL parameter \`${name}\` must be an integer from ${min} to ${max}.`,
    );
  }
  return n;
}

/** Parameter `name` as a boolean (`true`/`1`, `false`/`0`), or `undefined` when absent. */
export function boolean(params: Map<string, string>, name: string): boolean | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ConfigError(`Store URL parameter \`${name}\` must be true or false.`);
}
