/**
 * The SQLite store on better-sqlite3: the conformance suite, the shared SQL extras and the
 * SQLite specifics (`sqlite-extras.ts`). `node-sqlite.test.ts` runs the same over `node:sqlite`.
 */

import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { describeStore } from './conformance.js';
import { sqliteHarness } from './sqlite-extras.js';

const sqlite = sqliteHarness('sqlite', (file) => new Database(file));
afterAll(() => sqlite.close());

describeStore(sqlite.suite);
