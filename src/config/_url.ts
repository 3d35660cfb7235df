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

/** The store a URL names. */
export type StoreKind =
  | 'memory'
  | 'file'
  | 'sqlite'
  | 'redis'
  | 'postgres'
  | 'mysql'
  | 'tiered'
  | 'cookie';

/** A host and port of a server URL. */
export interface HostPort {
  host: string;
  port: number;
}

/** `memory:` */
export interface MemorySpec {
  kind: 'memory';
  where: string;
  maxEntries?: number | undefined;
}

/** `file:<dir>` (absolute once parsed). */
export interface FileSpec {
  kind: 'file';
  where: string;
  dir: string;
  fsync?: boolean | undefined;
}

/** `sqlite:<path>` (absolute once parsed, or `:memory:`). */
export interface SqliteSpec {
  kind: 'sqlite';
  where: string;
  path: string;
  table?: string | undefined;
  busyTimeout: number;
}

/** `redis://`, `rediss://`, `redis+sentinel://`, `redis+cluster://` (and `valkey…` aliases). */
export interface RedisSpec {
  kind: 'redis';
  where: string;
  topology: 'standalone' | 'sentinel' | 'cluster';
  tls: boolean;
  nodes: HostPort[];
  username?: string | undefined;
  password?: string | undefined;
  db?: number | undefined;
  /** The Sentinel master name. */
  master?: string | undefined;
  prefix?: string | undefined;
  client?: 'ioredis' | 'redis' | undefined;
  connectTimeout: number;
}

/** `postgres://` (`postgresql://`) or `mysql://` (`mariadb://`). */
export interface SqlServerSpec {
  kind: 'postgres' | 'mysql';
  where: string;
  host: string;
  port: number;
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  table?: string | undefined;
  poolSize: number;
  connectTimeout: number;
  ssl: boolean;
}

/** A store that is not tiered. */
export type SingleSpec = MemorySpec | FileSpec | SqliteSpec | RedisSpec | SqlServerSpec;

/** `tiered:<cache-url>+<persistent-url>` */
export interface TieredSpec {
  kind: 'tiered';
  where: string;
  cache: SingleSpec;
  persistent: SingleSpec;
}

/** `cookie:` (sealed-cookie sessions), or `cookie:<revocation-store-url>`. */
export interface CookieSpec {
  kind: 'cookie';
  where: string;
  /** The small server-side store that makes sealed sessions revocable. */
  revocation?: SingleSpec | undefined;
}

/** A parsed store URL. */
export type StoreSpec = SingleSpec | TieredSpec | CookieSpec;

/** The URL syntax in one line, for messages. */
export const STORE_URL_SYNTAX: string =
  'memory:, file:<dir>, sqlite:<path>, redis://host:port, redis+sentinel://host:port/<master>, redis+cluster://host:port,…, postgres://user@host/db, mysql://user@host/db, tiered:<cache-url>+<persistent-url> or cookie:[<revocation-store-url>]';

/** Default connect timeout of server stores, in ms. */
const CONNECT_TIMEOUT = 5_000;

interface Scheme {
  kind: 'redis' | 'postgres' | 'mysql';
  topology?: RedisSpec['topology'];
  tls?: boolean;
  port: number;
}

const SERVERS: Readonly<Record<string, Scheme>> = {
  redis: { kind: 'redis', topology: 'standalone', tls: false, port: 6379 },
  rediss: { kind: 'redis', topology: 'standalone', tls: true, port: 6379 },
  valkey: { kind: 'redis', topology: 'standalone', tls: false, port: 6379 },
  valkeys: { kind: 'redis', topology: 'standalone', tls: true, port: 6379 },
  'redis+sentinel': { kind: 'redis', topology: 'sentinel', tls: false, port: 26379 },
  'rediss+sentinel': { kind: 'redis', topology: 'sentinel', tls: true, port: 26379 },
  'redis+cluster': { kind: 'redis', topology: 'cluster', tls: false, port: 6379 },
  'rediss+cluster': { kind: 'redis', topology: 'cluster', tls: true, port: 6379 },
  postgres: { kind: 'postgres', port: 5432 },
  postgresql: { kind: 'postgres', port: 5432 },
  mysql: { kind: 'mysql', port: 3306 },
  mariadb: { kind: 'mysql', port: 3306 },
};

/** Query parameters each kind accepts (anything else is refused). */
const PARAMS: Readonly<Record<Exclude<StoreKind, 'tiered' | 'cookie'>, readonly string[]>> = {
  memory: ['maxEntries'],
  file: ['fsync'],
  sqlite: ['table', 'busyTimeout'],
  redis: ['prefix', 'client', 'connectTimeout'],
  postgres: ['table', 'poolSize', 'connectTimeout', 'ssl'],
  mysql: ['table', 'poolSize', 'connectTimeout', 'ssl'],
};

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
    /\+(?=(?:memory|file|sqlite|tiered|cookie|redis|rediss|valkey|valkeys|postgres|postgresql|mysql|mariadb)(?:\+\w+)?:)/i.exec(
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
  if (revocation.kind === 'tiered' || revocation.kind === 'cookie') {
    throw new ConfigError(
      'Write a cookie store as "cookie:" or "cookie:<revocation-store-url>" with a plain store URL.',
    );
  }
  return { kind: 'cookie', where: `cookie (revocation: ${revocation.where})`, revocation };
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

function parseServer(scheme: string, s: Scheme, rest: string): RedisSpec | SqlServerSpec {
  if (!rest.startsWith('//')) {
    throw new ConfigError(`Write the ${s.kind} store as "${scheme}://host:port…".`);
  }
  const body = rest.slice(2);
  if (body.includes('#')) throw new ConfigError(`The ${scheme}:// URL cannot have a #fragment.`);
  const q = body.indexOf('?');
  const beforeQuery = q === -1 ? body : body.slice(0, q);
  const slash = beforeQuery.indexOf('/');
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash === -1 ? '' : beforeQuery.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const { username, password } = userinfo(scheme, at === -1 ? undefined : authority.slice(0, at));
  const nodes = hosts(scheme, authority.slice(at + 1), s.port);
  const params = readParams(s.kind, q === -1 ? '' : body.slice(q + 1));
  const connectTimeout = integer(params, 'connectTimeout', 1, 600_000) ?? CONNECT_TIMEOUT;
  const list = nodes.map(hostPort).join(',');
  if (s.kind === 'redis') {
    const topology = s.topology ?? 'standalone';
    if (topology === 'standalone' && nodes.length > 1) {
      throw new ConfigError(
        `A ${scheme}:// URL names one host; use redis+sentinel:// or redis+cluster:// for several.`,
      );
    }
    const { db, master } = redisPath(scheme, topology, path);
    const client = params.get('client');
    if (client !== undefined && client !== 'ioredis' && client !== 'redis') {
      throw new ConfigError('The redis store URL parameter `client` must be "ioredis" or "redis".');
    }
    const shown = topology === 'standalone' ? 'redis' : `redis ${topology}`;
    return {
      kind: 'redis',
      where: `${shown} ${list}${master === undefined ? '' : `/${master}`}${db === undefined ? '' : `/${db}`}`,
      topology,
      tls: s.tls ?? false,
      nodes,
      username,
      password,
      db,
      master,
      prefix: params.get('prefix'),
      client,
      connectTimeout,
    };
  }
  if (nodes.length > 1) throw new ConfigError(`A ${scheme}:// URL names one host.`);
  const database = path === '' ? undefined : decode(scheme, 'database name', path);
  const node = nodes[0]!;
  return {
    kind: s.kind,
    where: `${s.kind} ${hostPort(node)}${database === undefined ? '' : `/${database}`}`,
    host: node.host,
    port: node.port,
    user: username,
    password,
    database,
    table: params.get('table'),
    poolSize: integer(params, 'poolSize', 1, 1000) ?? 10,
    connectTimeout,
    ssl: boolean(params, 'ssl') ?? false,
  };
}

function userinfo(
  scheme: string,
  info: string | undefined,
): { username?: string | undefined; password?: string | undefined } {
  if (info === undefined) return {};
  const colon = info.indexOf(':');
  const user = decode(scheme, 'user name', colon === -1 ? info : info.slice(0, colon));
  const password = colon === -1 ? undefined : decode(scheme, 'password', info.slice(colon + 1));
  return { username: user === '' ? undefined : user, password };
}

function hosts(scheme: string, list: string, defaultPort: number): HostPort[] {
  if (list === '') throw new ConfigError(`The ${scheme}:// URL needs a host.`);
  return list.split(',').map((item) => {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::([0-9]{1,5}))?$/.exec(item);
    const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
    if (m === null || port < 1 || port > 65_535) {
      throw new ConfigError(`The ${scheme}:// URL has a malformed host or port.`);
    }
    return { host: m[1] ?? m[2]!, port };
  });
}

function redisPath(
  scheme: string,
  topology: RedisSpec['topology'],
  path: string,
): { db?: number | undefined; master?: string | undefined } {
  const parts = path === '' ? [] : path.split('/');
  const dbOf = (text: string | undefined) => {
    if (text === undefined || text === '') return undefined;
    if (!/^[0-9]{1,5}$/.test(text)) {
      throw new ConfigError(`The ${scheme}:// URL's database must be a number (e.g. /0).`);
    }
    return Number(text);
  };
  if (topology === 'sentinel') {
    const master = parts[0] === undefined ? '' : decode(scheme, 'master name', parts[0]);
    if (master === '' || parts.length > 2) {
      throw new ConfigError(`Write a Sentinel URL as "${scheme}://host:port,…/<master>[/<db>]".`);
    }
    return { master, db: dbOf(parts[1]) };
  }
  if (parts.length > 1 || (topology === 'cluster' && parts[0] !== undefined && parts[0] !== '')) {
    throw new ConfigError(
      topology === 'cluster'
        ? 'A Redis Cluster URL has no database path.'
        : `Write the redis store as "${scheme}://host:port[/<db>]".`,
    );
  }
  return { db: dbOf(parts[0]) };
}

/** The query parameters, checked against the kind's list (never echoing a value). */
function readParams(
  kind: Exclude<StoreKind, 'tiered' | 'cookie'>,
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

function integer(
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

function boolean(params: Map<string, string>, name: string): boolean | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ConfigError(`Store URL parameter \`${name}\` must be true or false.`);
}

function decode(scheme: string, what: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(`The ${scheme}:// URL's ${what} is not valid percent-encoding.`);
  }
}

function hostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
