/**
 * `sessionkit` — private filesystem helpers of the file store (`stores/file.ts`): its directory
 * layout, and file operations that never follow a symbolic link planted inside the store
 * directory (`O_NOFOLLOW` opens, `lstat` checks). Not exported.
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { isStoreKey } from '../core/store.js';

/** Mode of every directory the store creates. */
const DIR_MODE = 0o700;
/** Mode of every file the store creates. */
export const FILE_MODE = 0o600;
/** Name prefix of a write's temp file. */
export const TEMP_PREFIX = '.tmp-';
/** The store directory's subdirectories. */
export const SUBDIRS = ['data', 'users', 'locks', 'mutex'] as const;
/** Flags of every read by name: a final symbolic link fails with ELOOP instead of being followed. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Flags of an index marker's creation: never through a final symbolic link. */
export const MARKER_FLAGS: number = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Create `dir` and its subdirectories with mode 0700 (chmod explicitly: the umask may interfere).
 * A subdirectory that exists as anything but a real directory (a symbolic link) is refused.
 */
export async function makeDirs(dir: string): Promise<void> {
  const created = await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (created !== undefined) await fs.chmod(dir, DIR_MODE);
  for (const sub of SUBDIRS) {
    if (!(await makeDir(join(dir, sub))) && !(await isOwnDir(join(dir, sub)))) {
      throw new Error(`The file store's ${sub}/ is not a directory (a symbolic link?).`);
    }
  }
}

/** Create `dir` (0700); resolves `false` when it already existed. */
async function makeDir(dir: string): Promise<boolean> {
  const created = await fs.mkdir(dir, { mode: DIR_MODE }).then(() => true, ignore('EEXIST'));
  if (created) await fs.chmod(dir, DIR_MODE);
  return created === true;
}

/** `true` when `dir` is a real directory — not a symbolic link to one. */
export async function isOwnDir(dir: string): Promise<boolean> {
  return (await fs.lstat(dir).catch(ignore('ENOENT')))?.isDirectory() === true;
}

/** Make `dir` a real directory: create it, or replace a link or file planted in its place. */
export async function ownDir(dir: string): Promise<void> {
  const s = await fs.lstat(dir).catch(ignore('ENOENT'));
  if (s?.isDirectory()) return;
  if (s !== undefined) await fs.unlink(dir).catch(ignore('ENOENT'));
  await makeDir(dir);
}

/** A file's text, or `undefined` when it is missing or a symbolic link (never followed). */
export function readText(file: string): Promise<string | undefined> {
  return fs.readFile(file, { encoding: 'utf8', flag: READ_FLAGS }).catch(ignore('ENOENT', 'ELOOP'));
}

/**
 * Remove a stale mutex file without removing a fresh one a concurrent taker just created: move it
 * aside, and put it back if what was moved is not old (`link` never overwrites).
 */
export async function breakStale(file: string, staleAfter: number): Promise<void> {
  const aside = `${file}.stale-${randomBytes(8).toString('hex')}`;
  if ((await fs.rename(file, aside).then(() => true, ignore('ENOENT'))) !== true) return;
  const s = await fs.lstat(aside);
  if (Date.now() - s.mtimeMs <= staleAfter) await fs.link(aside, file).catch(ignore('EEXIST'));
  await fs.unlink(aside);
}

/**
 * Names in `dir` that are store keys (missing dir → none). With `tempMaxAge`, temp files older
 * than that are removed on the way (used by `prune`).
 */
export async function list(dir: string, tempMaxAge?: number, pattern?: RegExp): Promise<string[]> {
  const names = (await fs.readdir(dir).catch(ignore('ENOENT'))) ?? [];
  const keys: string[] = [];
  for (const name of names) {
    if (pattern ? pattern.test(name) : isStoreKey(name)) keys.push(name);
    else if (tempMaxAge !== undefined && name.startsWith(TEMP_PREFIX)) {
      const s = await fs.lstat(join(dir, name)).catch(ignore('ENOENT'));
      if (s && Date.now() - s.mtimeMs > tempMaxAge)
        await fs.unlink(join(dir, name)).catch(ignore('ENOENT'));
    }
  }
  return keys;
}

/** The `code` of an fs error. */
export const code = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** A rejection handler that turns the given fs error codes into `undefined` and rethrows others. */
export function ignore(...codes: string[]): (error: unknown) => undefined {
  return (error) => {
    if (typeof code(error) === 'string' && codes.includes(code(error) as string)) return undefined;
    throw error;
  };
}
