/**
 * Private module (never in the exports map): server store URLs — `redis://` and its Sentinel,
 * Cluster, TLS and `valkey` forms, `postgres://`, `mysql://` — parsed to specs with no I/O. Every
 * error is a `ConfigError` that names the part that is wrong but never echoes a value: a URL may
 * hold a password.
 */

import { ConfigError } from '../core/errors.js';
import { boolean, integer, readParams } from './_url-params.js';
import type { HostPort, RedisSpec, SqlServerSpec } from './_url-spec.js';

/** Default connect timeout of server stores, in ms. */
const CONNECT_TIMEOUT = 5_000;

/** A server URL scheme: the store it names, its topology and TLS, its default port. */
export interface Scheme {
  kind: 'redis' | 'postgres' | 'mysql';
  topology?: RedisSpec['topology'];
  tls?: boolean;
  port: number;
}

/** The server URL schemes, by name. */
export const SERVERS: Readonly<Record<string, Scheme>> = {
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

/** Parse the rest of a server URL (after `<scheme>:`) of a scheme in {@link SERVERS}. */
export function parseServer(scheme: string, s: Scheme, rest: string): RedisSpec | SqlServerSpec {
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
    ...(s.kind === 'postgres' ? { prepare: boolean(params, 'prepare') ?? true } : {}),
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
