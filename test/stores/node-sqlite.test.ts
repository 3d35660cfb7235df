/**
 * The SQLite store on `node:sqlite`'s `DatabaseSync`: the conformance suite, the shared SQL
 * extras and the SQLite specifics, exactly as `sqlite.test.ts` runs them on better-sqlite3.
 *
 * `node:sqlite` exists only on Node ≥ 22.5, without a flag from 22.13. Where it is missing (Node
 * 20, the project's default) this file declares a visible skip with the reason. That is a
 * capability of the runtime, not an unreachable service, so it skips even under `CI=true`; a
 * run on Node 22 or 24 covers it, e.g.
 * `PATH=/opt/node22/bin:$PATH npx vitest run test/stores/node-sqlite.test.ts`.
 * It must never import better-sqlite3, whose native build loads only on the Node it was built for.
 */

import { afterAll, describe, it } from 'vitest';
import { describeStore } from './conformance.js';
import { type SqliteTestDb, sqliteHarness } from './sqlite-extras.js';

/** The part of `node:sqlite` this file uses (the installed `@types/node` is Node 20's). */
interface NodeSqlite {
  DatabaseSync: new (path: string) => SqliteTestDb;
}

const nodeSqlite = loadNodeSqlite();

if (nodeSqlite === undefined) {
  const reason = `node:sqlite needs Node >= 22.13; this is Node ${process.versions.node}`;
  console.warn(`[node-sqlite.test] skipping — ${reason}`);
  describe(`store conformance: node:sqlite (skipped: ${reason})`, () => {
    it.skip('runs the conformance suite and the SQL extras over DatabaseSync', () => {});
  });
} else {
  const { DatabaseSync } = nodeSqlite;
  const sqlite = sqliteHarness('node:sqlite', (file) => new DatabaseSync(file));
  afterAll(() => sqlite.close());

  describeStore(sqlite.suite);
}

/** `node:sqlite`, or `undefined` where this Node has none (or only behind a flag). */
function loadNodeSqlite(): NodeSqlite | undefined {
  try {
    return process.getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined;
  } catch {
    return undefined;
  }
}
