/**
 * `sessionkit/stores/hybrid`: the store the manager sees delegates every method to its
 * server-side store, so it passes the conformance suite as that store does (the optional methods
 * included, failures reported the same way). Its configuration and lifecycle are tested in
 * test/core/hybrid.test.ts, over HTTP in the adapter contract (configuration `hybrid`), and under
 * attack in test/security/hybrid.test.ts.
 */

import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { hybridStore } from '../../src/stores/hybrid.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { tieredStore } from '../../src/stores/tiered.js';
import { describeStore } from './conformance.js';

const dbs: Database.Database[] = [];
function sqlite(): Database.Database {
  const db = new Database(':memory:');
  dbs.push(db);
  return db;
}
afterAll(() => {
  for (const db of dbs) if (db.open) db.close();
});

/** A hybrid over a SQLite store whose database is closed: every call fails. */
function broken() {
  const db = sqlite();
  const store = sqliteStore({ client: db });
  db.close();
  return hybridStore({ store });
}

describeStore({
  name: 'hybrid (over memory)',
  create: () => hybridStore({ store: memoryStore() }),
  lacks: ['failure'],
});

describeStore({
  name: 'hybrid (over sqlite)',
  create: () => hybridStore({ store: sqliteStore({ client: sqlite() }) }),
  createBroken: broken,
});

describeStore({
  name: 'hybrid (over tiered memory over sqlite)',
  create: () =>
    hybridStore({
      store: tieredStore({ cache: memoryStore(), persistent: sqliteStore({ client: sqlite() }) }),
    }),
  createBroken: broken,
});
