import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import { fileStore } from '../../src/stores/file.js';
import { collect, describeStore, HOSTILE_KEYS, HOUR, record, storeKey } from './conformance.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/file-cas-worker.ts', import.meta.url));

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

/** A fresh parent directory; the store lives in `<parent>/store` (not created yet). */
async function tempParent(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'sessionkit-file-'));
  temps.push(parent);
  return parent;
}

/** Every path under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

describeStore({
  name: 'file',
  create: async () => fileStore({ dir: join(await tempParent(), 'store') }),
  // A regular file where the directory should be: fails even for root (chmod 000 would not).
  createBroken: async () => {
    const file = join(await tempParent(), 'not-a-dir');
    await writeFile(file, 'x');
    return fileStore({ dir: file });
  },
  extra: ({ track }) => {
    describe('file specifics', () => {
      for (const umask of [0o000, 0o277]) {
        it(`creates directories 0700 and files 0600 under umask ${umask.toString(8)}`, async () => {
          const dir = join(await tempParent(), 'store');
          const old = process.umask(umask);
          try {
            const store = track(fileStore({ dir }));
            const key = storeKey();
            await store.set(key, record({ userId: 'u' }));
            await store.lock!(key, { owner: 'o', ttl: 10_000 });
            const paths = await tree(dir);
            expect(paths).toEqual(expect.arrayContaining(['data', 'users', 'locks', 'mutex']));
            expect(paths).toEqual(expect.arrayContaining([join('data', key), join('locks', key)]));
            expect(paths.filter((p) => p.startsWith('users/'))).toHaveLength(2);
            expect(await mode(dir)).toBe(0o700);
            for (const path of paths) {
              const s = await stat(join(dir, path));
              expect(s.mode & 0o777, path).toBe(s.isDirectory() ? 0o700 : 0o600);
            }
          } finally {
            process.umask(old);
          }
        });
      }

      it('writes atomically: readers never see a partial file; no temp files remain', async () => {
        const dir = join(await tempParent(), 'store');
        const store = track(fileStore({ dir, fsync: false }));
        const key = storeKey();
        const payloads = Array.from({ length: 8 }, (_, i) => String(i).repeat(200_000));
        await store.set(key, record({ data: payloads[0]! }));
        let writing = true;
        const writer = (async () => {
          for (let round = 0; round < 5; round++) {
            await Promise.all(payloads.map((data) => store.set(key, record({ data }))));
          }
          writing = false;
        })();
        let reads = 0;
        while (writing) {
          const raw = await readFile(join(dir, 'data', key), 'utf8');
          expect(payloads).toContain(JSON.parse(raw).data);
          expect(payloads).toContain((await store.get(key))?.data);
          reads++;
        }
        await writer;
        expect(reads).toBeGreaterThan(0);
        expect((await readdir(join(dir, 'data'))).sort()).toEqual([key]);
        expect(await readdir(join(dir, 'mutex'))).toEqual([]);
      });

      it('keeps hostile keys and user ids inside dir (checked on disk)', async () => {
        const parent = await tempParent();
        const dir = join(parent, 'store');
        const store = track(fileStore({ dir }));
        for (const key of HOSTILE_KEYS) {
          await expect(store.set(key, record())).rejects.toMatchObject({
            code: 'ERR_SESSION_INVALID_KEY',
          });
          await expect(store.get(key)).resolves.toBeUndefined();
        }
        const users = ['../../escape', '/etc/passwd', '..', '\u0000', 'a/../../b'];
        const keys = users.map(() => storeKey());
        for (const [i, userId] of users.entries()) {
          await store.set(keys[i]!, record({ userId }));
        }
        for (const [i, userId] of users.entries()) {
          await expect(store.listByUser!(userId)).resolves.toMatchObject([{ key: keys[i] }]);
        }
        expect(await readdir(parent)).toEqual(['store']);
        const paths = await tree(dir);
        for (const path of paths) {
          expect(path).toMatch(/^(data|users|locks|mutex)(\/[0-9a-f]{64})?(\/[A-Za-z0-9_-]+)?$/);
        }
        expect(
          paths.filter((p) => p.startsWith('users/') && p.split('/').length === 3),
        ).toHaveLength(users.length);
      });

      it('reads a corrupt record file as missing; create replaces it; prune removes it', async () => {
        const dir = join(await tempParent(), 'store');
        const store = track(fileStore({ dir }));
        const [bad, truncated, foreign, good] = [storeKey(), storeKey(), storeKey(), storeKey()];
        await store.set(good, record({ userId: 'u' }));
        await writeFile(join(dir, 'data', bad), '{"v":1,"version":');
        await writeFile(join(dir, 'data', truncated), '');
        await writeFile(join(dir, 'data', foreign), JSON.stringify({ v: 2, ...record() }));
        for (const key of [bad, truncated, foreign]) {
          await expect(store.get(key)).resolves.toBeUndefined();
          await expect(store.touch(key, Date.now() + HOUR)).resolves.toBe(false);
        }
        expect(await collect(store.ids!())).toEqual([good]);
        await expect(store.set(bad, record({ data: 'new' }), { ifVersion: 0 })).resolves.toBe(true);
        await expect(store.get(bad)).resolves.toMatchObject({ data: 'new' });
        await expect(store.prune!()).resolves.toBe(2);
        expect((await readdir(join(dir, 'data'))).sort()).toEqual([bad, good].sort());
      });

      it('keeps the user index consistent across user changes, delete and prune', async () => {
        const dir = join(await tempParent(), 'store');
        let clock = Date.now();
        const store = track(fileStore({ dir, now: () => clock }));
        const [a, b] = [storeKey(), storeKey()];
        const markers = async () => tree(join(dir, 'users'));
        await store.set(a, record({ userId: 'alice', expiresAt: clock + 1000 }));
        await store.set(a, record({ userId: 'bob', version: 2, expiresAt: clock + 1000 }));
        await store.set(b, record({ userId: 'bob', expiresAt: clock + 5000 }));
        expect((await markers()).filter((p) => p.includes('/'))).toHaveLength(2);
        await store.delete(b);
        expect((await markers()).filter((p) => p.includes('/'))).toHaveLength(1);
        // A dangling marker (no record) and an expired record: prune clears both.
        const dangling = storeKey();
        const bobDir = createHash('sha256').update('bob').digest('hex');
        await writeFile(join(dir, 'users', bobDir, dangling), '');
        clock += 2000;
        await expect(store.listByUser!('bob')).resolves.toEqual([]);
        await expect(store.prune!()).resolves.toBe(1);
        expect(await markers()).toEqual([]);
        expect(await readdir(join(dir, 'data'))).toEqual([]);
      });

      it('prune removes old temp files and expired lock files, and keeps fresh ones', async () => {
        const dir = join(await tempParent(), 'store');
        const store = track(fileStore({ dir }));
        const [held, lapsed] = [storeKey(), storeKey()];
        await store.lock!(held, { owner: 'o', ttl: 60_000 });
        await store.lock!(lapsed, { owner: 'o', ttl: 1 });
        const oldTemp = join(dir, 'data', '.tmp-old');
        const newTemp = join(dir, 'data', '.tmp-new');
        const oldLockTemp = join(dir, 'locks', '.tmp-old');
        for (const file of [oldTemp, newTemp, oldLockTemp]) await writeFile(file, 'partial');
        await utimes(oldTemp, minutesAgo(5), minutesAgo(5));
        await utimes(oldLockTemp, minutesAgo(5), minutesAgo(5));
        await new Promise((resolve) => setTimeout(resolve, 20));
        await expect(store.prune!()).resolves.toBe(0);
        expect(await readdir(join(dir, 'data'))).toEqual(['.tmp-new']);
        expect(await readdir(join(dir, 'locks'))).toEqual([held]);
        await expect(store.lock!(held, { owner: 'other', ttl: 1000 })).resolves.toBe(false);
      });

      it('takes over a stale mutex left by a crashed process, but waits out a fresh one', async () => {
        const dir = join(await tempParent(), 'store');
        const store = track(fileStore({ dir, lockTimeout: 300 }));
        const [key, blocked] = [storeKey(), storeKey()];
        await store.set(key, record({ version: 1 }));
        const stale = join(dir, 'mutex', key);
        await writeFile(stale, 'crashed-owner');
        await utimes(stale, minutesAgo(1), minutesAgo(1));
        await expect(store.set(key, record({ version: 2 }), { ifVersion: 1 })).resolves.toBe(true);
        await writeFile(join(dir, 'mutex', blocked), 'live-owner');
        const error = await store.set(blocked, record()).catch((e: unknown) => e);
        expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
        await expect(store.get(blocked)).resolves.toBeUndefined();
        expect(await readFile(join(dir, 'mutex', blocked), 'utf8')).toBe('live-owner');
        expect(await readdir(join(dir, 'mutex'))).toEqual([blocked]);
      });

      it('never follows a symlink planted in the per-user index (existing or dangling target)', async () => {
        const parent = await tempParent();
        const dir = join(parent, 'store');
        const store = track(fileStore({ dir }));
        await store.get(storeKey()); // creates the layout
        const userDir = join(dir, 'users', createHash('sha256').update('alice').digest('hex'));
        await mkdir(userDir, { mode: 0o700 });
        const existing = join(parent, 'existing');
        await writeFile(existing, 'precious');
        await chmod(existing, 0o644);
        const dangling = join(parent, 'created-outside');
        const [a, b] = [storeKey(), storeKey()];
        await symlink(existing, join(userDir, a));
        await symlink(dangling, join(userDir, b));
        await store.set(a, record({ userId: 'alice' }));
        await store.set(b, record({ userId: 'alice' }));
        expect(await mode(existing)).toBe(0o644);
        expect(await readFile(existing, 'utf8')).toBe('precious');
        expect(await readdir(parent)).toEqual(['existing', 'store']);
        for (const key of [a, b]) {
          const marker = await lstat(join(userDir, key));
          expect(marker.isFile(), key).toBe(true);
          expect(marker.mode & 0o777).toBe(0o600);
        }
        const listed = (await store.listByUser!('alice')).map((e) => e.key).sort();
        expect(listed).toEqual([a, b].sort());
      });

      it('never writes or deletes through a per-user directory replaced by a symlink', async () => {
        const parent = await tempParent();
        const dir = join(parent, 'store');
        const store = track(fileStore({ dir }));
        await store.get(storeKey());
        const elsewhere = join(parent, 'elsewhere');
        await mkdir(elsewhere);
        // Named like an index marker whose record is gone: prune would delete it if it followed.
        const bystander = storeKey();
        await writeFile(join(elsewhere, bystander), 'not yours');
        const userDir = join(dir, 'users', createHash('sha256').update('bob').digest('hex'));
        await symlink(elsewhere, userDir);
        await expect(store.prune!()).resolves.toBe(0);
        expect(await readdir(elsewhere)).toEqual([bystander]);
        await expect(lstat(userDir)).rejects.toMatchObject({ code: 'ENOENT' }); // the link went
        await symlink(elsewhere, userDir);
        const key = storeKey();
        await store.set(key, record({ userId: 'bob' }));
        expect(await readdir(elsewhere)).toEqual([bystander]);
        expect((await lstat(userDir)).isDirectory()).toBe(true);
        expect(await readdir(userDir)).toEqual([key]);
        await expect(store.listByUser!('bob')).resolves.toMatchObject([{ key }]);
      });

      it('reads a symlinked record or lock file as missing and replaces the link, never its target', async () => {
        const parent = await tempParent();
        const dir = join(parent, 'store');
        const store = track(fileStore({ dir }));
        await store.get(storeKey());
        const key = storeKey();
        const planted = JSON.stringify({ v: 1, ...record({ data: 'planted' }) });
        const outsideRecord = join(parent, 'record');
        const outsideLock = join(parent, 'lock');
        await writeFile(outsideRecord, planted);
        await writeFile(outsideLock, JSON.stringify({ owner: 'x', expiresAt: Date.now() + HOUR }));
        await symlink(outsideRecord, join(dir, 'data', key));
        await symlink(outsideLock, join(dir, 'locks', key));
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.lock!(key, { owner: 'o', ttl: 10_000 })).resolves.toBe(true);
        await expect(store.set(key, record({ data: 'mine' }), { ifVersion: 0 })).resolves.toBe(
          true,
        );
        await expect(store.get(key)).resolves.toMatchObject({ data: 'mine' });
        expect(await readFile(outsideRecord, 'utf8')).toBe(planted);
        expect(JSON.parse(await readFile(outsideLock, 'utf8'))).toMatchObject({ owner: 'x' });
        for (const sub of ['data', 'locks']) {
          expect((await lstat(join(dir, sub, key))).isFile(), sub).toBe(true);
        }
      });

      it('refuses a store whose data, users, locks or mutex directory is a symbolic link', async () => {
        for (const sub of ['data', 'users', 'locks', 'mutex']) {
          const parent = await tempParent();
          const dir = join(parent, 'store');
          const elsewhere = join(parent, 'elsewhere');
          await mkdir(dir, { mode: 0o700 });
          await mkdir(elsewhere);
          await symlink(elsewhere, join(dir, sub));
          const store = track(fileStore({ dir }));
          const error = await store
            .set(storeKey(), record({ userId: 'u' }))
            .catch((e: unknown) => e);
          expect(isSessionError(error, 'ERR_SESSION_STORE'), sub).toBe(true);
          expect(await readdir(elsewhere), sub).toEqual([]);
        }
      });

      it('creates nothing until the first call', async () => {
        const parent = await tempParent();
        const store = track(fileStore({ dir: join(parent, 'store') }));
        expect(await readdir(parent)).toEqual([]);
        await store.get(storeKey());
        expect(await tree(join(parent, 'store'))).toEqual(['data', 'locks', 'mutex', 'users']);
      });

      it('refuses invalid options with ERR_SESSION_CONFIG', () => {
        const invalid = [
          { dir: '' },
          { dir: 'x', lockTimeout: 0 },
          { dir: 'x', staleLockAfter: -1 },
        ];
        for (const options of [...invalid, { dir: 'x', tempMaxAge: Number.NaN }]) {
          let error: unknown;
          try {
            fileStore(options);
          } catch (e) {
            error = e;
          }
          expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(options)).toBe(true);
        }
      });

      it('compare-and-set is atomic across store instances and a child process', async () => {
        const dir = join(await tempParent(), 'store');
        const [a, b] = [track(fileStore({ dir })), track(fileStore({ dir }))];
        const key = storeKey();
        await a.set(key, record({ data: '0', version: 1 }));
        const children = [0, 1].map(() => runWorker(dir, key, 30));
        let running = true;
        const done = Promise.all(children).finally(() => {
          running = false;
        });
        // In-process increments keep going until both children finish, so the runs overlap.
        const local = async (store: SessionStore): Promise<number> => {
          let increments = 0;
          while (running || increments < 10) {
            const current = (await store.get(key))!;
            const next = { ...current, data: String(Number(current.data) + 1) };
            next.version = current.version + 1;
            if (await store.set(key, next, { ifVersion: current.version })) increments++;
          }
          return increments;
        };
        const [mine, theirs] = await Promise.all([Promise.all([local(a), local(b)]), done]);
        const total = mine[0] + mine[1] + 60;
        expect(theirs).toHaveLength(2);
        await expect(a.get(key)).resolves.toMatchObject({
          data: String(total),
          version: total + 1,
        });
      });
    });
  },
});

/** Run the CAS worker in a real `node` process; resolves its conflict count. */
function runWorker(dir: string, key: string, increments: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, dir, key, String(increments)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Number(out.trim()));
      else reject(new Error(`worker exited with ${code}: ${err}`));
    });
  });
}
