/** Types for connect-pg-simple (it ships none): only what the tests use. */
declare module 'connect-pg-simple' {
  import type session from 'express-session';

  interface PgStoreOptions {
    pool?: unknown;
    tableName?: string;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: false | number;
    errorLog?: (...args: unknown[]) => void;
    ttl?: number;
  }
  type PgStore = session.Store & { close(): Promise<void> };
  function connectPgSimple(s: typeof session): new (options?: PgStoreOptions) => PgStore;
  export default connectPgSimple;
}
