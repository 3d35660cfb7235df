/**
 * The merge mode's cross-process path, for real: separate Node processes, each with its own
 * manager (so no shared in-process queue), hammer one session through a shared store. Every
 * increment and every blind write must survive, with every request succeeding.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret, type SessionStore } from '../../src/index.js';
import { fileStore } from '../../src/stores/file.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { testManager } from '../support/manager.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'session-worker.ts');
const PROCESSES = 3;
const REQUESTS = 40;
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function run(args: string[]): Promise<{ failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
    });
  });
}

describe.each([
  ['sqlite', (dir: string) => `sqlite:${join(dir, 'sessions.db')}`],
  ['file', (dir: string) => `file:${join(dir, 'sessions')}`],
])('merge mode across %s processes', (_name, urlOf) => {
  it(`${PROCESSES} processes × ${REQUESTS} concurrent updates on one session lose nothing`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessionkit-xproc-'));
    dirs.push(dir);
    const url = urlOf(dir);
    let store: SessionStore;
    let db: Database.Database | undefined;
    if (url.startsWith('sqlite:')) {
      db = new Database(url.slice(7));
      db.pragma('journal_mode = WAL');
      store = sqliteStore({ client: db });
    } else {
      store = fileStore({ dir: url.slice(5) });
    }
    const secret = generateSecret();
    const manager = testManager({ store, secrets: [secret] });
    const scope = manager.begin({});
    scope.session.set('counter', 0);
    const cookie = (await scope.end()).setCookie[0]!.split(';')[0]!;

    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) =>
        run([url, secret, cookie, String(REQUESTS), '8', `p${p}_`]),
      ),
    );
    expect(results.flatMap((r) => r.failures)).toEqual([]);

    const check = manager.begin({ cookie });
    expect(await check.session.get('counter')).toBe(PROCESSES * REQUESTS);
    expect(Object.keys((await check.session.get('keys')) as object)).toHaveLength(
      PROCESSES * REQUESTS,
    );
    db?.close();
  });
});
