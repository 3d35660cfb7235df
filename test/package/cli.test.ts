/**
 * Every `sessionkit` command as a user runs it: the package built, packed and installed from its
 * tarball into a temporary project, then `npx sessionkit …` there — first without any client
 * package (the error names the one to install), then with the real clients linked in, against
 * real SQLite, Redis, PostgreSQL and MariaDB holding sessions created through the library.
 * Failures (unreachable server, refused password, bad URL) are one line and exit 1 or 2, with
 * no stack trace and no secret. Several minutes of wall time on a loaded machine.
 */

import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfiguredStore, describeStoreUrl, storeFromUrl } from '../../src/config/index.js';
import { createSessionManager, generateSecret, type SessionManager } from '../../src/index.js';
import { record, storeKey } from '../stores/conformance.js';
import { rewriteAsLegacy } from '../stores/redis-helpers.js';
import {
  connectRedis,
  deletePrefix,
  dropMysqlTables,
  dropTables,
  MYSQL_URL,
  POSTGRES_URL,
  REDIS_URL,
  uniqueName,
} from '../support/backends.js';
import { buildAndPack, installInto, ROOT, type RunResult, run } from './tarball.js';

const CLIENTS = ['pg', 'mysql2', 'ioredis', 'redis', 'better-sqlite3'];
const SECRET = generateSecret();
let tmp = '';
let app = '';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sessionkit-cli-'));
  const { tarball } = await buildAndPack(tmp);
  app = join(tmp, 'app');
  await installInto(app, tarball);
}, 600_000);

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** `npx sessionkit …` in the project, with `env` added. */
function sessionkit(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run('npx', ['--offline', 'sessionkit', ...args], app, env);
}

/** A failure as the CLI must report it: one line on stderr, nothing on stdout, no stack trace. */
function expectOneLine(result: RunResult, code: 1 | 2, line: RegExp | string): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: '' });
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('npx sessionkit without client packages', () => {
  it('names the missing package and its install command (exit 2)', async () => {
    expectOneLine(
      await sessionkit(['stats', '--store', POSTGRES_URL]),
      2,
      'sessionkit stats: The postgres store needs the "pg" package, which is not installed: npm install pg',
    );
    expectOneLine(
      await sessionkit(['prune'], { SESSION_STORE: REDIS_URL }),
      2,
      'sessionkit prune: The redis store needs the "ioredis" or the "redis" package, and neither is installed: npm install ioredis',
    );
  }, 120_000);
});

describe('npx sessionkit with the clients installed', () => {
  beforeAll(() => {
    for (const name of CLIENTS) {
      const link = join(app, 'node_modules', name);
      if (!existsSync(link)) symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
    }
  });

  it('fails in one line, exit 1, never showing the password: unreachable, refused credentials', async () => {
    for (const [url, line] of [
      [
        'postgres://u:hunter2@127.0.0.1:1/db',
        'postgres 127.0.0.1:1/db session store (connection refused)',
      ],
      [
        `postgres://no_such_role:hunter2@127.0.0.1:${port(POSTGRES_URL)}/test`,
        'authentication failed',
      ],
      [`mysql://root:hunter2@127.0.0.1:${port(MYSQL_URL)}/test`, 'authentication failed'],
      ['redis://:hunter2@127.0.0.1:1', 'redis 127.0.0.1:1 session store (connection refused)'],
    ] as const) {
      const result = await sessionkit(['stats', '--store', url]);
      expectOneLine(
        result,
        1,
        new RegExp(`^sessionkit stats: Cannot use the .*${line.replace(/[()]/g, '\\$&')}`),
      );
      expect(result.stderr).not.toContain('hunter2');
    }
  }, 300_000);

  it('a bad URL or an unknown command is one line and exit 2', async () => {
    expectOneLine(
      await sessionkit(['list', '--user', 'a', '--store', 'postgres://u:hunter2@h/db?pool=2']),
      2,
      'sessionkit list: Unknown parameter `pool` in the postgres store URL; it accepts `table`, `poolSize`, `connectTimeout`, `ssl`, `prepare`.',
    );
    const unknown = await sessionkit(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe("sessionkit: unknown command 'frobnicate'");
  }, 120_000);

  it('prune draws a progress bar on a terminal (a pty from script(1)) and prints the count', async () => {
    const url = `sqlite:${join(tmp, 'tty.db')}`;
    const store = await storeFromUrl(url);
    for (let i = 0; i < 300; i++)
      await store.set(storeKey(), record({ expiresAt: Date.now() - 1000 }));
    await store.close();
    const command = `npx --offline sessionkit prune --batch 50 --store ${url}`;
    const result = await run('script', ['-qec', command, '/dev/null'], app);
    expect(result.code).toBe(0);
    // The bar is redrawn in place (CR … erase to end of line, shown here as <CR> and <EL>) and
    // erased before the result.
    const screen = result.stdout.replaceAll('\r', '<CR>').replaceAll('\x1b[K', '<EL>');
    expect(screen).toMatch(/<CR>pruning \[-{10,}\] {4}0% {2}0\/300<EL>/);
    expect(screen).toMatch(/<CR>pruning \[#{10,}\] {2}100% {2}300\/300<EL>/);
    expect(screen).toMatch(
      /<CR><EL>Removed 300 expired sessions from sqlite \S+ in [0-9.]+ s\.(<CR>)?\n/, // npx adds a spinner around it on a terminal
    );
  }, 120_000);

  describe.each([
    ['sqlite', () => `sqlite:${join(tmp, 'sessions.db')}`],
    ['redis', () => `${REDIS_URL}?prefix=${name}:`],
    // Records the previous version wrote (hashes): every command reads and converts them.
    ['redis, previous layout', () => `${REDIS_URL}?prefix=${name}-old:`],
    ['postgres', () => `${POSTGRES_URL}?table=${name}`],
    ['mysql', () => `${MYSQL_URL}?table=${name}`],
  ])('on %s', (kind, urlOf) => {
    const sql = !kind.startsWith('redis');
    const legacy = kind === 'redis, previous layout';
    let url = '';
    let store: ConfiguredStore;
    let manager: SessionManager;
    const handles: Record<string, string[]> = { alice: [], bob: [] };
    const cli = (...args: string[]) => sessionkit([...args, '--store', url]);
    // A handle may start with '-': it goes after `--` (show) or as `--option=value` (revoke).
    const show = (handle: string, ...args: string[]) =>
      sessionkit(['show', ...args, '--store', url, '--', handle]);

    beforeAll(async () => {
      url = urlOf();
      const migrated = await cli('migrate');
      expect(migrated.stderr).toBe('');
      expect(migrated.stdout).toBe(
        sql
          ? `${describeStoreUrl(url)}: created tables ${table(kind)}, ${table(kind)}_locks\n`
          : `${describeStoreUrl(url)}: nothing to migrate (no schema)\n`,
      );
      store = await storeFromUrl(url);
      manager = createSessionManager({ store, secrets: [SECRET] });
      for (const [user, n] of [
        ['alice', 3],
        ['bob', 1],
        [null, 2],
      ] as const) {
        for (let i = 0; i < n; i++) {
          const scope = manager.begin({ ip: `10.0.0.${i}`, userAgent: `agent-${i}` });
          if (user !== null) await scope.session.login(user);
          scope.session.set('cart', [i]);
          await scope.end();
        }
      }
      for (const user of ['alice', 'bob']) {
        handles[user] = (await manager.listSessions(user)).map((s) => s.handle);
      }
      if (legacy) {
        const redis = await connectRedis();
        const raw = (command: string | number, ...args: (string | number)[]) =>
          redis.call(String(command), ...args);
        // The six sessions (no revocation record: nobody has revoked all yet).
        expect(await rewriteAsLegacy(raw, `${name}-old:`).finally(() => redis.disconnect())).toBe(
          6,
        );
      }
    }, 300_000);

    afterAll(async () => {
      await store?.close();
      if (kind === 'redis') await deletePrefix(`${name}:`);
      if (legacy) await deletePrefix(`${name}-old:`);
      if (kind === 'postgres') await dropTables(table(kind));
      if (kind === 'mysql') await dropMysqlTables(table(kind));
    });

    it('migrate is idempotent; --print shows the DDL without connecting', async () => {
      const again = await cli('migrate', '--json');
      expect(JSON.parse(again.stdout)).toEqual([
        {
          store: describeStoreUrl(url),
          sql,
          created: [],
          existing: sql ? [table(kind), `${table(kind)}_locks`] : [],
        },
      ]);
      const printed = await cli('migrate', '--print');
      expect(printed.code).toBe(0);
      if (sql)
        expect(printed.stdout).toContain(`CREATE TABLE IF NOT EXISTS ${quoted(kind, table(kind))}`);
      else expect(printed.stdout).toBe('-- not a SQL store: no schema\n');
    }, 120_000);

    it("list --user shows a user's sessions, newest first; --json has their handles", async () => {
      const text = await cli('list', '--user', 'alice');
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^HANDLE\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$/);
      expect(lines.at(-1)).toBe('3 sessions of user "alice".');
      const listed = JSON.parse((await cli('list', '--user', 'alice', '--json')).stdout) as {
        handle: string;
        ip: string;
      }[];
      expect(listed.map((s) => s.handle).sort()).toEqual([...handles.alice!].sort());
      expect(listed.map((s) => s.ip).sort()).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    }, 120_000);

    it('show prints one session (data values only with --data); an unknown handle is exit 1', async () => {
      const [handle] = handles.bob!;
      const text = await show(handle!);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('\nuser        bob\n');
      expect(text.stdout).toContain('\ndata keys   cart\n');
      expect(text.stdout).not.toContain('[0]');
      const detail = JSON.parse((await show(handle!, '--data', '--json')).stdout) as Record<
        string,
        unknown
      >;
      expect(detail).toMatchObject({ handle, userId: 'bob', ip: '10.0.0.0', data: { cart: [0] } });
      expect(JSON.stringify(detail)).not.toMatch(/csrf/i);
      expectOneLine(await show(storeKey()), 1, 'sessionkit show: No live session has that handle.');
    }, 120_000);

    it('stats counts users, sizes, ages and (SQL) expired and lock rows', async () => {
      const stats = JSON.parse((await cli('stats', '--json')).stdout) as Record<string, unknown>;
      expect(stats).toMatchObject({ sessions: 6, signedIn: 4, anonymous: 2, users: 2 });
      expect(stats.topUsers).toEqual([
        { userId: 'alice', sessions: 3 },
        { userId: 'bob', sessions: 1 },
      ]);
      expect((stats.age as { count: number }[])[0]!.count).toBe(6);
      const text = await cli('stats');
      expect(text.stdout).toContain('sessions    6 live: 4 signed in, 2 anonymous\n');
    }, 120_000);

    it('prune removes the expired sessions (Redis: their index entries) and says how many', async () => {
      // Two sessions of carol, already expired: SQL keeps the rows, Redis only index entries.
      for (let i = 0; i < 2; i++) {
        await store.set(storeKey(), record({ userId: 'carol', expiresAt: Date.now() - 1000 }));
      }
      if (sql)
        expect(JSON.parse((await cli('stats', '--json')).stdout).tables).toMatchObject({
          expired: 2,
        });
      const pruned = await cli('prune');
      expect(pruned.stderr).toBe('');
      expect(pruned.stdout).toMatch(
        new RegExp(
          `^Removed 2 expired sessions from ${escapeRegExp(describeStoreUrl(url))} in [0-9.]+ s\\.\\n$`,
        ),
      );
      expect(JSON.parse((await cli('prune', '--json')).stdout)).toMatchObject({ removed: 0 });
    }, 120_000);

    it("revoke --handle only touches the user's own session; --all --except keeps one", async () => {
      const [a1, a2] = handles.alice!;
      expectOneLine(
        await cli('revoke', '--user', 'alice', `--handle=${handles.bob![0]!}`),
        1,
        'sessionkit revoke: No live session of user "alice" has that handle.',
      );
      expect(await cli('revoke', '--user', 'alice', `--handle=${a1!}`)).toMatchObject({
        stderr: '',
        stdout: 'Revoked 1 session of user "alice".\n',
      });
      expect(await cli('revoke', '--user', 'alice', '--all', `--except=${a2!}`)).toMatchObject({
        stderr: '',
        stdout: 'Revoked 1 session of user "alice".\n',
      });
      expect((await manager.listSessions('alice')).map((s) => s.handle)).toEqual([a2]);
      expect(await manager.listSessions('bob')).toHaveLength(1);
    }, 120_000);

    it('reseal --plaintext seals every session under SESSION_SECRETS, readable only with them', async () => {
      const primary = generateSecret();
      const secrets = { SESSION_SECRETS: `${primary},${SECRET}` };
      const sealed = await sessionkit(['reseal', '--plaintext', '--json', '--store', url], secrets);
      expect(sealed.stderr).toBe('');
      expect(JSON.parse(sealed.stdout)).toMatchObject({ scanned: 4, resealed: 4, unreadable: 0 });
      const [handle] = handles.bob!;
      expect((await show(handle!)).stdout).toContain('(sealed: set SESSION_SECRETS to read it)');
      const opened = await sessionkit(['show', '--store', url, '--', handle!], secrets);
      expect(opened.stdout).toContain('\nuser agent  agent-0\n');
      const reader = createSessionManager({ store, secrets: [primary], encrypt: true });
      expect((await reader.listSessions('bob')).map((s) => s.handle)).toEqual([handle]);
    }, 120_000);
  });
});

function port(url: string): string {
  return new URL(url).port;
}

/** Every server store of this file lives under this prefix / table. */
const name = uniqueName();

function table(kind: string): string {
  return kind === 'sqlite' ? 'sessionkit_sessions' : name;
}

function quoted(kind: string, t: string): string {
  return kind === 'postgres' ? `"${t}"` : kind === 'mysql' ? `\`${t}\`` : t;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
