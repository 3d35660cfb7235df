/**
 * `sessionkit/stores/file` — a session store on the local filesystem.
 *
 * One JSON file per store key, written atomically (temp file + `rename`). Conditional writes hold
 * a per-key mutex file created with `O_EXCL`, so compare-and-set is atomic across processes
 * sharing the directory. No write, read or delete follows a symbolic link planted inside the
 * directory (`O_NOFOLLOW`, `lstat`). Layout, format and limits: `docs/stores/file.md`. Parts:
 * `_fs.ts` (layout, link-safe file operations), `_file-write.ts` (the mutex and the atomic write),
 * `_file-format.ts` (the record and lock files).
 */

import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  type SessionStore,
  type StoreEntry,
  type StoreRecord,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';
import { type FileRecord, FORMAT, parseLock, parseRecord } from './_file-format.js';
import { fileWriter } from './_file-write.js';
import {
  breakStale,
  code,
  FILE_MODE,
  ignore,
  isOwnDir,
  list,
  MARKER_FLAGS,
  makeDirs,
  ownDir,
  readText,
  type SUBDIRS,
} from './_fs.js';

const NAME = 'file';

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /** Directory holding the store; created (mode 0700) on first use. Required. */
  dir: string;
  /** Clock in milliseconds since the epoch, for record expiry and lock leases. @default Date.now */
  now?: (() => number) | undefined;
  /** Longest wait for a key's internal write mutex, in ms, before rejecting with `StoreError`. @default 10_000 */
  lockTimeout?: number | undefined;
  /** Age (wall clock, ms) after which a mutex file left by a crashed process is taken over. @default 5_000 */
  staleLockAfter?: number | undefined;
  /** Age (wall clock, ms) after which `prune` removes leftover temp files. @default 60_000 */
  tempMaxAge?: number | undefined;
  /** `fsync` each file before renaming it into place (durability across power loss). @default true */
  fsync?: boolean | undefined;
}

/**
 * Create a filesystem session store rooted at `options.dir`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) for a missing `dir` or a non-positive duration. Methods reject with
 * `StoreError` (`ERR_SESSION_STORE`, `cause` = the fs error) when the filesystem fails;
 * unreadable record files read as missing. Implements the full contract.
 */
export function fileStore(options: FileStoreOptions): SessionStore {
  const { dir, now = Date.now, fsync = true } = options;
  if (typeof dir !== 'string' || dir === '') {
    throw new ConfigError('fileStore: `dir` is required (a directory path for session files).');
  }
  const lockTimeout = duration('lockTimeout', options.lockTimeout, 10_000);
  const staleAfter = duration('staleLockAfter', options.staleLockAfter, 5_000);
  const tempMaxAge = duration('tempMaxAge', options.tempMaxAge, 60_000);
  const path = (sub: (typeof SUBDIRS)[number], ...rest: string[]) => join(dir, sub, ...rest);
  const userDir = (userId: string) =>
    path('users', createHash('sha256').update(userId).digest('hex'));
  const live = (r: StoreRecord | undefined): r is StoreRecord =>
    r !== undefined && r.expiresAt > now();
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= makeDirs(dir).catch((error: unknown) => {
      ready = undefined; // retry on the next call instead of failing forever
      throw error;
    });
    return ready;
  };

  const { exclusive, writeAtomic } = fileWriter({
    mutexDir: path('mutex'),
    lockTimeout,
    staleAfter,
    fsync,
  });

  const readLock = async (key: string) => parseLock(await readText(path('locks', key)));
  const readRecord = async (key: string) => parseRecord(await readText(path('data', key)));

  /**
   * Create the index marker `users/<hash>/<key>` (kept if present). The user directory must be a
   * real directory and the marker a regular file: a symbolic link planted at either is removed
   * (`unlink` removes the link, never its target) and replaced, so nothing outside `dir` is
   * created or chmod-ed.
   */
  async function addMarker(key: string, userId: string): Promise<void> {
    const dir = userDir(userId);
    const file = join(dir, key);
    for (let i = 0; ; i++) {
      await ownDir(dir);
      const fh = await fs.open(file, MARKER_FLAGS, FILE_MODE).catch((error: unknown) => {
        // ENOENT: the user dir was pruned meanwhile; ELOOP: a planted link.
        if (i < 3 && ['ENOENT', 'ELOOP'].includes(code(error) as string)) return undefined;
        throw error;
      });
      if (fh) return fh.chmod(FILE_MODE).finally(() => fh.close());
      await fs.unlink(file).catch(ignore('ENOENT'));
    }
  }

  const removeMarker = (key: string, userId: string | null) =>
    userId === null ? undefined : fs.unlink(join(userDir(userId), key)).catch(ignore('ENOENT'));

  /** Remove a record (and its index entry) if it is still what `should` approves; under the mutex. */
  const removeIf = (key: string, should: (r: StoreRecord | undefined) => boolean) =>
    exclusive(key, async () => {
      const current = await readRecord(key);
      if (!should(current)) return false;
      const removed = await fs.unlink(path('data', key)).then(() => true, ignore('ENOENT'));
      await removeMarker(key, current?.userId ?? null);
      return removed === true;
    });

  /** The single place where filesystem errors become `StoreError`s. */
  async function run<T>(
    op: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    throwIfAborted(signal);
    try {
      await init();
      return await fn();
    } catch (error) {
      throw toStoreError(NAME, op, error);
    }
  }

  return {
    name: NAME,
    async get(key, o) {
      if (!isStoreKey(key)) return undefined;
      return run('get', o?.signal, async () => {
        const record = await readRecord(key);
        return live(record) ? record : undefined;
      });
    },
    async set(key, record, o) {
      assertStoreKey(key);
      assertStoreRecord(record);
      const { data, version, expiresAt, userId } = record;
      const ifVersion = o?.ifVersion;
      return run('set', o?.signal, () =>
        exclusive(key, async () => {
          const current = await readRecord(key);
          if (ifVersion === 0 && live(current)) return false;
          if (ifVersion && !(live(current) && current.version === ifVersion)) return false;
          // Index first, so a record is never unlisted; a stale marker is filtered on read.
          if (userId !== null) await addMarker(key, userId);
          const file: FileRecord = { v: FORMAT, version, expiresAt, userId, data };
          await writeAtomic(path('data', key), JSON.stringify(file));
          if (current && current.userId !== userId) await removeMarker(key, current.userId);
          return true;
        }),
      );
    },
    async touch(key, expiresAt, o) {
      if (!isStoreKey(key)) return false;
      assertExpiresAt(expiresAt);
      return run('touch', o?.signal, () =>
        exclusive(key, async () => {
          const current = await readRecord(key);
          if (!live(current)) return false;
          const file: FileRecord = { v: FORMAT, ...current, expiresAt };
          await writeAtomic(path('data', key), JSON.stringify(file));
          return true;
        }),
      );
    },
    async delete(key, o) {
      if (!isStoreKey(key)) return false;
      const v = o?.ifVersion;
      return run('delete', o?.signal, () =>
        removeIf(key, (r) => live(r) && (v === undefined || r.version === v)),
      );
    },
    async lock(key, o) {
      assertStoreKey(key);
      assertLockOptions(o);
      const { owner, ttl } = o;
      return run('lock', o.signal, () =>
        exclusive(`lock.${key}`, async () => {
          const held = await readLock(key);
          if (held && held.owner !== owner && held.expiresAt > now()) return false;
          await writeAtomic(path('locks', key), JSON.stringify({ owner, expiresAt: now() + ttl }));
          return true;
        }),
      );
    },
    async unlock(key, o) {
      if (!isStoreKey(key)) return false;
      return run('unlock', o.signal, () =>
        exclusive(`lock.${key}`, async () => {
          const held = await readLock(key);
          if (!held || held.owner !== o.owner || held.expiresAt <= now()) return false;
          await fs.unlink(path('locks', key));
          return true;
        }),
      );
    },
    async listByUser(userId, o) {
      return run('listByUser', o?.signal, async () => {
        const entries: StoreEntry[] = [];
        for (const key of await list(userDir(userId))) {
          const record = await readRecord(key);
          if (live(record) && record.userId === userId) entries.push({ key, record });
        }
        return entries;
      });
    },
    async deleteByUser(userId, o) {
      const except = new Set(o?.except ?? []);
      return run('deleteByUser', o?.signal, async () => {
        let count = 0;
        for (const key of await list(userDir(userId))) {
          if (except.has(key)) continue;
          if (await removeIf(key, (r) => live(r) && r.userId === userId)) count++;
        }
        return count;
      });
    },
    async prune(o) {
      return run('prune', o?.signal, async () => {
        let count = 0;
        for (const key of await list(path('data'), tempMaxAge)) {
          // Expired or unreadable (never half-written: writes are renames) records go.
          if (!live(await readRecord(key)) && (await removeIf(key, (r) => !live(r)))) count++;
        }
        for (const hash of await list(path('users'), undefined, /^[0-9a-f]{64}$/)) {
          // A planted link (or file) in place of a user directory goes; its target is not read.
          if (!(await isOwnDir(path('users', hash)))) {
            await fs.unlink(path('users', hash)).catch(ignore('ENOENT'));
            continue;
          }
          for (const key of await list(path('users', hash))) {
            const r = await readRecord(key);
            const owned = (x: StoreRecord | undefined) =>
              live(x) && x.userId !== null && userDir(x.userId) === path('users', hash);
            if (!owned(r)) {
              await exclusive(key, async () => {
                if (!owned(await readRecord(key)))
                  await fs.unlink(path('users', hash, key)).catch(ignore('ENOENT'));
              });
            }
          }
          await fs.rmdir(path('users', hash)).catch(ignore('ENOTEMPTY', 'EEXIST', 'ENOENT'));
        }
        for (const key of await list(path('locks'), tempMaxAge)) {
          await exclusive(`lock.${key}`, async () => {
            const held = await readLock(key);
            if (!held || held.expiresAt <= now())
              await fs.unlink(path('locks', key)).catch(ignore('ENOENT'));
          });
        }
        for (const name of (await fs.readdir(path('mutex')).catch(ignore('ENOENT'))) ?? []) {
          const file = path('mutex', name);
          const s = await fs.lstat(file).catch(ignore('ENOENT'));
          if (s && Date.now() - s.mtimeMs > staleAfter) await breakStale(file, staleAfter);
        }
        return count;
      });
    },
    async *ids(o) {
      const keys = await run('ids', o?.signal, () => list(path('data')));
      for (const key of keys) {
        if (await run('ids', o?.signal, async () => live(await readRecord(key)))) yield key;
      }
    },
    async close() {},
  };
}

function duration(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`fileStore: \`${option}\` must be a positive number of milliseconds.`);
  }
  return value;
}
