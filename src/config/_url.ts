/**
 * Private module (never in the exports map): store URLs → store specs, with no I/O.
 *
 * The syntax is documented in `docs/operations.md`. A URL is read with a small parser of our own
 * rather than `new URL()`: Sentinel and Cluster URLs list several hosts (`h1:26379,h2:26379`),
 * and local paths (`sqlite:./data/x.db`) are not URLs at all. Every error is a `ConfigError`
 * whose message names the part that is wrong but never echoes a value: a URL may hold a password.
 */

import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { boolean, integer, readParams } from './_url-params.js';
import { parseServer, SERVERS } from './_url-server.js';
import type { CookieSpec, HybridSpec, SingleSpec, StoreSpec, TieredSpec } from './_url-spec.js';

export type {
  CookieSpec,
  FileSpec,
  HostPort,
  HybridSpec,
  MemorySpec,
  RedisSpec,
  SingleSpec,
  SqliteSpec,
  SqlServerSpec,
  StoreKind,
  StoreSpec,
  TieredSpec,
} from './_url-spec.js';

/** The URL syntax in one line, for messages. */
export const STORE_URL_SYNTAX: string =
  'memory:, file:<dir>, sqlite:<path>, redis://host:port, redis+sentinel://host:port/<master>, redis+cluster://host:port,…, postgres://user@host/db, mysql://user@host/db, tiered:<cache-url>+<persistent-url>, cookie:[<revocation-store-url>] or hybrid:<store-url>';

/**
 * Parse a store URL. Relative `file:`/`sqlite:` paths resolve against `cwd`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) for an unknown scheme, a malformed URL, an unknown or invalid query
 * parameter — naming the problem, never repeating the URL.
 */
export function parseStoreUrl(url: string, cwd: string): StoreSpec {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ConfigError(`The store URL is empty; use ${STORE_URL_SYNTAX}.`);
  }
  const text = url.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):/.exec(text);
  const scheme = match?.[1]?.toLowerCase() ?? '';
  const rest = text.slice(scheme.length + 1);
  const server = Object.hasOwn(SERVERS, scheme) ? SERVERS[scheme] : undefined;
  if (server !== undefined) return parseServer(scheme, server, rest);
  switch (scheme) {
    case 'tiered':
      return parseTiered(rest, cwd);
    case 'cookie':
      return parseCookie(rest, cwd);
    case 'hybrid':
      return parseHybrid(rest, cwd);
    case 'memory':
    case 'file':
    case 'sqlite':
      return parseLocal(scheme, rest, cwd);
    default:
      throw new ConfigError(
        `${scheme === '' ? 'The store URL has no scheme' : `Unknown store "${scheme}:"`}; use ${STORE_URL_SYNTAX}.`,
      );
  }
}

function parseTiered(rest: string, cwd: string): TieredSpec {
  // The `+` that starts the second URL is the one followed by a scheme (a password may hold `+`).
  const split =
    /\+(?=(?:memory|file|sqlite|tiered|cookie|hybrid|redis|rediss|valkey|valkeys|postgres|postgresql|mysql|mariadb)(?:\+\w+)?:)/i.exec(
      rest,
    );
  if (split === null || split.index === 0) {
    throw new ConfigError('Write a tiered store as "tiered:<cache-url>+<persistent-url>".');
  }
  const cache = parseStoreUrl(rest.slice(0, split.index), cwd);
  const persistent = parseStoreUrl(rest.slice(split.index + 1), cwd);
  if (cache.kind === 'tiered' || persistent.kind === 'tiered') {
    throw new ConfigError('A tiered store cannot contain another tiered store.');
  }
  if (cache.kind === 'cookie' || persistent.kind === 'cookie') {
    throw new ConfigError('A tiered store cannot contain a cookie store (it stores nothing).');
  }
  if (cache.kind === 'hybrid' || persistent.kind === 'hybrid') {
    throw new ConfigError('A tiered store cannot contain a hybrid store; write "hybrid:tiered:…".');
  }
  return {
    kind: 'tiered',
    where: `tiered: ${cache.where} over ${persistent.where}`,
    cache,
    persistent,
  };
}

function parseCookie(rest: string, cwd: string): CookieSpec {
  const url = rest.replace(/^\/\/$/, '');
  if (url === '') return { kind: 'cookie', where: 'cookie' };
  const revocation = parseStoreUrl(url, cwd);
  if (
    revocation.kind === 'tiered' ||
    revocation.kind === 'cookie' ||
    revocation.kind === 'hybrid'
  ) {
    throw new ConfigError(
      'Write a cookie store as "cookie:" or "cookie:<revocation-store-url>" with a plain store URL.',
    );
  }
  return { kind: 'cookie', where: `cookie (revocation: ${revocation.where})`, revocation };
}

function parseHybrid(rest: string, cwd: string): HybridSpec {
  const url = rest.replace(/^\/\/$/, '');
  const store = url === '' ? undefined : parseStoreUrl(url, cwd);
  if (store === undefined || store.kind === 'cookie' || store.kind === 'hybrid') {
    throw new ConfigError(
      'Write a hybrid store as "hybrid:<store-url>" with the server-side store\'s URL (a plain or tiered store).',
    );
  }
  return { kind: 'hybrid', where: `hybrid over ${store.where}`, store };
}

function parseLocal(kind: 'memory' | 'file' | 'sqlite', rest: string, cwd: string): SingleSpec {
  const q = rest.indexOf('?');
  // `sqlite:./x.db`, `sqlite://./x.db` and `sqlite:///abs/x.db` all name a path.
  const path = (q === -1 ? rest : rest.slice(0, q)).replace(/^\/\/(?=[./~]|$)/, '');
  const params = readParams(kind, q === -1 ? '' : rest.slice(q + 1));
  if (kind === 'memory') {
    if (path !== '') throw new ConfigError('Write the memory store as "memory:".');
    return { kind, where: 'memory', maxEntries: integer(params, 'maxEntries', 1, 1e9) };
  }
  if (path === '') {
    throw new ConfigError(`"${kind}:" needs a ${kind === 'file' ? 'directory' : 'database path'}.`);
  }
  if (kind === 'file') {
    const dir = resolve(cwd, path);
    return { kind, where: `file ${dir}`, dir, fsync: boolean(params, 'fsync') };
  }
  const file = path === ':memory:' ? path : resolve(cwd, path);
  return {
    kind,
    where: `sqlite ${file}`,
    path: file,
    table: params.get('table'),
    busyTimeout: integer(params, 'busyTimeout', 0, 600_000) ?? 5_000,
  };
}
