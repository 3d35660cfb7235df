/** Minimal typings for the two bench dependencies that ship none (only what the bench uses). */

declare module 'connect-pg-simple' {
  import type session from 'express-session';
  import type { Pool } from 'pg';

  interface PgStoreOptions {
    pool: Pool;
    tableName?: string;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: false | number;
  }
  export default function connectPgSimple(
    s: typeof session,
  ): new (
    options: PgStoreOptions,
  ) => session.Store;
}

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonClient extends EventEmitter {
    setHeaders(headers: Record<string, string>): void;
  }
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    method?: string;
    headers?: Record<string, string>;
    setupClient?: (client: AutocannonClient) => void;
    timeout?: number;
  }
  export interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    total: number;
  }
  export interface AutocannonResult {
    latency: Histogram;
    requests: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  export interface Instance extends EventEmitter {
    stop(): void;
  }
  export default function autocannon(
    options: AutocannonOptions,
    callback: (error: Error | null, result: AutocannonResult) => void,
  ): Instance;
}
