/**
 * Private module (never in the exports map): the store specs a store URL parses to — one shape
 * per store kind, with no I/O. `_url.ts` parses them, `_open.ts` opens them.
 */

/** The store a URL names. */
export type StoreKind =
  | 'memory'
  | 'file'
  | 'sqlite'
  | 'redis'
  | 'postgres'
  | 'mysql'
  | 'tiered'
  | 'cookie'
  | 'hybrid';

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
  /** PostgreSQL: send the per-request statements named (prepared); `?prepare=false` turns it off. */
  prepare?: boolean | undefined;
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

/** `hybrid:<store-url>` (write-on-demand: stateless while anonymous, then in that store). */
export interface HybridSpec {
  kind: 'hybrid';
  where: string;
  /** The server-side store sessions move to. */
  store: SingleSpec | TieredSpec;
}

/** A parsed store URL. */
export type StoreSpec = SingleSpec | TieredSpec | CookieSpec | HybridSpec;
