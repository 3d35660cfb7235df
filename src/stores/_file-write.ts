/**
 * `sessionkit` — the file store's two write primitives (`stores/file.ts`): a per-name mutex file
 * created with `O_EXCL` in `mutex/`, so that a read-check-write is atomic across processes sharing
 * the directory (a mutex left by a crashed process is taken over once stale), and an atomic file
 * write (a fresh 0600 temp file, optionally fsync-ed, renamed into place). Not exported.
 */

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { breakStale, FILE_MODE, ignore, readText, TEMP_PREFIX } from './_fs.js';

/** Settings of {@link fileWriter}, from the store's options. */
export interface FileWriterOptions {
  /** The store's `mutex/` directory. */
  mutexDir: string;
  /** Longest wait for a mutex, in ms, before rejecting. */
  lockTimeout: number;
  /** Age (wall clock, ms) after which a mutex file is taken over. */
  staleAfter: number;
  /** `fsync` each file before renaming it into place. */
  fsync: boolean;
}

/** The write primitives of a file store. */
export interface FileWriter {
  /** Run `op` under the cross-process mutex `mutex/<name>`, bounded by `lockTimeout`. */
  exclusive<T>(name: string, op: () => Promise<T>): Promise<T>;
  /** Write `text` to `file` atomically: a fresh 0600 temp file in the same directory, then rename. */
  writeAtomic(file: string, text: string): Promise<void>;
}

/** The mutex and atomic write of one file store. */
export function fileWriter(options: FileWriterOptions): FileWriter {
  const { mutexDir, lockTimeout, staleAfter, fsync } = options;
  /** Run `op` under the key's cross-process mutex (`mutex/<name>`), bounded by `lockTimeout`. */
  async function exclusive<T>(name: string, op: () => Promise<T>): Promise<T> {
    const file = join(mutexDir, name);
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + lockTimeout;
    for (let attempt = 0; ; attempt++) {
      const fh = await fs.open(file, 'wx', FILE_MODE).catch(ignore('EEXIST'));
      if (fh) {
        await fh
          .chmod(FILE_MODE)
          .then(() => fh.writeFile(token))
          .finally(() => fh.close())
          .catch(async (error: unknown) => {
            await fs.unlink(file).catch(() => undefined);
            throw error;
          });
        break;
      }
      const age = await fs.lstat(file).then((s) => Date.now() - s.mtimeMs, ignore('ENOENT'));
      if (age !== undefined && age > staleAfter) await breakStale(file, staleAfter);
      else if (Date.now() > deadline) throw new Error('Timed out waiting for a file store mutex.');
      else await sleep(1 + Math.random() * Math.min(2 ** attempt, 50));
    }
    try {
      return await op();
    } finally {
      const held = await readText(file);
      if (held === token) await fs.unlink(file).catch(ignore('ENOENT'));
    }
  }

  /** Write `text` to `file` atomically: a fresh 0600 temp file in the same directory, then rename. */
  async function writeAtomic(file: string, text: string): Promise<void> {
    const temp = join(dirname(file), `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    const fh = await fs.open(temp, 'wx', FILE_MODE);
    try {
      await fh.chmod(FILE_MODE); // the umask may have narrowed or (with 'wx') never widened it
      await fh.writeFile(text, 'utf8');
      if (fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(temp, file).catch(async (error: unknown) => {
      await fs.unlink(temp).catch(ignore('ENOENT'));
      throw error;
    });
  }

  return { exclusive, writeAtomic };
}
