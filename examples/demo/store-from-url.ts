/**
 * The demo's `SESSION_STORE` parsing: a store URL → a store spec → an open store.
 *
 * Supported today: `sqlite:<path>` (default `sqlite:./data/sessions.db`), `file:<dir>` and
 * `memory:`. Redis, PostgreSQL and MySQL URLs are recognised and refused with a clear message
 * until their stores land.
 */

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionStore } from '../../src/core/store.js';
import { fileStore } from '../../src/stores/file.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

/** The store URL used when `SESSION_STORE` is unset or empty. */
export const DEFAULT_STORE_URL = 'sqlite:./data/sessions.db';

/** A parsed store URL. Paths are absolute (resolved against the given working directory). */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'file'; dir: string }
  | { kind: 'sqlite'; path: string };

/** Thrown for a store URL the demo cannot use; `message` is meant for the console. */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
}

const NOT_YET = new Map([
  ['redis', 'Redis'],
  ['rediss', 'Redis'],
  ['valkey', 'Valkey'],
  ['postgres', 'PostgreSQL'],
  ['postgresql', 'PostgreSQL'],
  ['mysql', 'MySQL'],
  ['mariadb', 'MariaDB'],
  ['mongodb', 'MongoDB'],
]);

const SUPPORTED = 'sqlite:<path>, file:<dir> or memory:';

/**
 * Parse a `SESSION_STORE` value. `undefined` or blank means {@link DEFAULT_STORE_URL}. Relative
 * paths resolve against `cwd`. Throws {@link StoreUrlError} for a scheme the demo does not
 * support (naming the supported ones) or a missing path; never touches the filesystem.
 */
export function parseStoreUrl(url: string | undefined, cwd: string = process.cwd()): StoreSpec {
  const text = url === undefined || url.trim() === '' ? DEFAULT_STORE_URL : url.trim();
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  // `sqlite:./x.db`, `sqlite://./x.db` and `sqlite:///abs/x.db` all name a path.
  const rest = text.slice(colon + 1).replace(/^\/\/(?=[./~]|$)/, '');
  const product = NOT_YET.get(scheme);
  if (product !== undefined) {
    throw new StoreUrlError(
      `SESSION_STORE: ${product} is not supported by the demo yet (it arrives with the ${product} store). Use ${SUPPORTED}.`,
    );
  }
  switch (scheme) {
    case 'memory':
      if (rest !== '')
        throw new StoreUrlError('SESSION_STORE: write the memory store as "memory:".');
      return { kind: 'memory' };
    case 'file':
      if (rest === '') throw new StoreUrlError('SESSION_STORE: "file:" needs a directory.');
      return { kind: 'file', dir: resolve(cwd, rest) };
    case 'sqlite':
      if (rest === '') throw new StoreUrlError('SESSION_STORE: "sqlite:" needs a database path.');
      return { kind: 'sqlite', path: rest === ':memory:' ? rest : resolve(cwd, rest) };
    default:
      throw new StoreUrlError(
        `SESSION_STORE: unknown store "${scheme === '' ? text.slice(0, 40) : scheme}". Use ${SUPPORTED}.`,
      );
  }
}

/** An open store and how to release what was opened for it. */
export interface OpenedStore {
  store: SessionStore;
  /** A one-line description for the console (no credentials: the demo's URLs hold none). */
  description: string;
  /** Close the store's timers and the database connection it opened. */
  close(): Promise<void>;
}

/**
 * Open the store a spec names. Creates the SQLite database's directory (mode 0700) and switches
 * the database to WAL mode; the file store creates its own directory on first use. Throws what
 * the driver throws (e.g. an unwritable path).
 */
export function openStore(spec: StoreSpec): OpenedStore {
  switch (spec.kind) {
    case 'memory': {
      const store = memoryStore();
      return { store, description: 'memory (lost on restart)', close: async () => store.close?.() };
    }
    case 'file': {
      const store = fileStore({ dir: spec.dir });
      return { store, description: `file ${spec.dir}`, close: async () => store.close?.() };
    }
    case 'sqlite': {
      if (spec.path !== ':memory:') {
        mkdirSync(dirname(spec.path), { recursive: true, mode: 0o700 });
        // Create the file 0600 first: SQLite gives its -wal/-shm files the same mode.
        closeSync(openSync(spec.path, 'a', 0o600));
      }
      const client = new Database(spec.path);
      // WAL: readers never block the writer, and a crash cannot corrupt the database.
      client.pragma('journal_mode = WAL');
      client.pragma('busy_timeout = 5000');
      const store = sqliteStore({ client });
      return {
        store,
        description: `sqlite ${spec.path}`,
        async close() {
          await store.close?.();
          client.close();
        },
      };
    }
  }
}
