/**
 * `sessionkit` — the op log and the merge rules, as pure functions.
 *
 * A request's writes are recorded as ops and applied at commit on the freshest record; after a
 * lost compare-and-set they are replayed on the reloaded one. Blind writes of paths this request
 * read earlier are checked against what it saw ({@link staleReads}): overwriting a value computed
 * from stale data would lose the other request's write.
 */

import { type DataObject, readAt, type SessionMeta, type SessionPayload } from './codec.js';
import { jsonEqual } from './data.js';
import { Draft } from './draft.js';

/** One recorded write. Applied in order on the loaded record, and re-applied on a fresher one. */
export type SessionOp =
  | { kind: 'set'; path: readonly string[]; value: unknown }
  | { kind: 'clear' }
  | { kind: 'merge'; patch: DataObject }
  | {
      kind: 'update';
      path: readonly string[];
      fn: (current: unknown) => unknown;
      /** What `fn` returned when last applied. */
      result?: unknown;
      /** Set when `fn` threw on the loaded data and the op left the log. */
      error?: unknown;
    }
  | { kind: 'flash'; key: string; value: unknown; replace: boolean }
  | { kind: 'flash-take'; key: string; taken?: readonly unknown[] }
  | { kind: 'flash-restore'; key: string; values: readonly unknown[] }
  | {
      kind: 'meta';
      patch: Partial<
        Pick<SessionMeta, 'userId' | 'persistent' | 'ip' | 'userAgent' | 'fingerprint' | 'csrf'>
      >;
    };

/**
 * Apply `ops` to `payload`, returning the new payload (inputs are not mutated), in time linear
 * in the work done (see `draft.ts`). Runs `update` functions and records their results on the
 * ops; throws `ERR_SESSION_DATA` when one returns non-JSON data.
 */
export function applyOps(
  payload: SessionPayload,
  ops: readonly SessionOp[],
  maxDepth: number,
): SessionPayload {
  const draft = new Draft(payload, maxDepth);
  for (const op of ops) draft.apply(op);
  return draft.result();
}

/**
 * The dot paths an op log writes blindly (updates re-apply functionally, so they don't count),
 * indexed so that an overlap check costs O(path length) however long the log is.
 */
export class WrittenPaths {
  /** The written paths, and every proper dot-prefix of one; made by the first blind write. */
  #paths: Set<string> | undefined;
  #prefixes: Set<string> | undefined;
  #root = false;

  /** Index the ops of a log (e.g. a whole one, when checking it at commit). */
  static of(ops: readonly SessionOp[]): WrittenPaths {
    const index = new WrittenPaths();
    for (const op of ops) index.add(op);
    return index;
  }

  /** Index what `op` writes blindly. */
  add(op: SessionOp): void {
    if (op.kind === 'set') this.#add(op.path.join('.'));
    else if (op.kind === 'clear') this.#root = true;
    else if (op.kind === 'merge') for (const key of Object.keys(op.patch)) this.#add(key);
  }

  /**
   * `true` when a written path overlaps dot path `path`: equal, one containing the other, or
   * either is the root (`''`).
   */
  overlaps(path: string): boolean {
    if (this.#root) return true;
    const paths = this.#paths;
    if (paths === undefined) return false;
    if (path === '') return true;
    if (paths.has(path) || this.#prefixes!.has(path)) return true;
    for (let at = path.indexOf('.'); at !== -1; at = path.indexOf('.', at + 1)) {
      if (paths.has(path.slice(0, at))) return true;
    }
    return false;
  }

  #add(path: string): void {
    this.#paths ??= new Set();
    this.#prefixes ??= new Set();
    this.#paths.add(path);
    for (let at = path.indexOf('.'); at !== -1; at = path.indexOf('.', at + 1)) {
      this.#prefixes.add(path.slice(0, at));
    }
  }
}

/**
 * Record that this request read `path` of `base`, unless its own ops already wrote an overlapping
 * path (then it reads its own write) or it was observed before. Keeps the value itself: session
 * data is frozen, so the reference is what the request saw. Returns the (possibly new) map of
 * observed paths → what was seen.
 */
export function observe(
  observed: Map<string, unknown> | undefined,
  written: WrittenPaths,
  base: SessionPayload,
  path: readonly string[],
): Map<string, unknown> | undefined {
  const key = path.length === 1 ? path[0]! : path.join('.');
  if (observed?.has(key) || written.overlaps(key)) return observed;
  const map = observed ?? new Map<string, unknown>();
  map.set(key, readAt(base, path));
  return map;
}

/**
 * The observed paths that `ops` write blindly and whose value in `base` (the freshest record)
 * differs from what the request saw — as JSON data, so an equal value reloaded is no change: a
 * non-empty result is a `read-write` conflict.
 */
export function staleReads(
  observed: ReadonlyMap<string, unknown> | undefined,
  ops: readonly SessionOp[],
  base: SessionPayload,
): string[] {
  if (observed === undefined || observed.size === 0) return [];
  const written = WrittenPaths.of(ops);
  const stale: string[] = [];
  for (const [path, seen] of observed) {
    if (!written.overlaps(path)) continue;
    const current = readAt(base, path === '' ? [] : path.split('.'));
    if (!jsonEqual(current, seen)) stale.push(path);
  }
  return stale;
}

/** `true` when a pending op already sets or clears the CSRF secret (e.g. a rotation). */
export function csrfPending(ops: readonly SessionOp[]): boolean {
  return ops.some((op) => op.kind === 'meta' && 'csrf' in op.patch);
}
