/**
 * `sessionkit` — the op log and the merge rules, as pure functions.
 *
 * A request's writes are recorded as ops and applied at commit on the freshest record; after a
 * lost compare-and-set they are replayed on the reloaded one. Blind writes of paths this request
 * read earlier are checked against what it saw ({@link staleReads}): overwriting a value computed
 * from stale data would lose the other request's write.
 */

import {
  type DataObject,
  emptyObject,
  getAt,
  type SessionMeta,
  type SessionPayload,
  setAt,
  toSessionValue,
} from './codec.js';

/** One recorded write. Applied in order on the loaded record, and re-applied on a fresher one. */
export type SessionOp =
  | { kind: 'set'; path: readonly string[]; value: unknown }
  | { kind: 'clear' }
  | { kind: 'merge'; patch: DataObject }
  | { kind: 'update'; path: readonly string[]; fn: (current: unknown) => unknown; result?: unknown }
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
 * Apply `ops` to `payload`, returning the new payload (inputs are not mutated). Runs `update`
 * functions and records their results on the ops; throws `ERR_SESSION_DATA` when one returns
 * non-JSON data.
 */
export function applyOps(
  payload: SessionPayload,
  ops: readonly SessionOp[],
  maxDepth: number,
): SessionPayload {
  let { data, flash, meta } = payload;
  for (const op of ops) {
    switch (op.kind) {
      case 'set':
        data = setAt(data, op.path, op.value);
        break;
      case 'clear':
        data = emptyObject();
        break;
      case 'merge':
        for (const key of Object.keys(op.patch)) data = setAt(data, [key], op.patch[key]);
        break;
      case 'update': {
        const next = toSessionValue(op.fn(getAt(data, op.path)), maxDepth);
        op.result = next;
        data = setAt(data, op.path, next);
        break;
      }
      case 'flash': {
        const list = op.replace ? [] : ((flash[op.key] as unknown[] | undefined) ?? []);
        flash = setAt(flash, [op.key], Object.freeze([...list, op.value]));
        break;
      }
      case 'flash-take':
        op.taken = (flash[op.key] as unknown[] | undefined) ?? [];
        flash = setAt(flash, [op.key], undefined);
        break;
      case 'flash-restore': {
        const list = (flash[op.key] as unknown[] | undefined) ?? [];
        flash = setAt(flash, [op.key], Object.freeze([...op.values, ...list]));
        break;
      }
      case 'meta':
        meta = { ...meta, ...op.patch };
        break;
    }
  }
  return { data, flash, meta };
}

/** Dot paths an op log writes blindly (updates re-apply functionally, so they don't count). */
export function writtenPaths(ops: readonly SessionOp[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if (op.kind === 'set') out.push(op.path.join('.'));
    else if (op.kind === 'clear') out.push('');
    else if (op.kind === 'merge') out.push(...Object.keys(op.patch));
  }
  return out;
}

/** `true` when two dot paths overlap (equal, or one contains the other; `''` is the root). */
export function pathsOverlap(a: string, b: string): boolean {
  return a === '' || b === '' || a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** JSON text used to compare observed values (`undefined` gets its own marker). */
function fingerprint(value: unknown): string {
  return value === undefined ? '\u0000undefined' : JSON.stringify(value);
}

/**
 * Record that this request read `path` of `base`, unless its own ops already wrote an overlapping
 * path (then it reads its own write) or it was observed before. Returns the (possibly new) map of
 * observed paths → what was seen.
 */
export function observe(
  observed: Map<string, string> | undefined,
  ops: readonly SessionOp[],
  base: SessionPayload,
  path: readonly string[],
): Map<string, string> | undefined {
  const key = path.join('.');
  if (observed?.has(key) || writtenPaths(ops).some((w) => pathsOverlap(w, key))) return observed;
  const map = observed ?? new Map<string, string>();
  map.set(key, fingerprint(getAt(base.data, path)));
  return map;
}

/**
 * The observed paths that `ops` write blindly and whose value in `base` (the freshest record)
 * differs from what the request saw: a non-empty result is a `read-write` conflict.
 */
export function staleReads(
  observed: ReadonlyMap<string, string> | undefined,
  ops: readonly SessionOp[],
  base: SessionPayload,
): string[] {
  if (observed === undefined || observed.size === 0) return [];
  const written = writtenPaths(ops);
  const stale: string[] = [];
  for (const [path, seen] of observed) {
    if (!written.some((w) => pathsOverlap(w, path))) continue;
    const current = path === '' ? base.data : getAt(base.data, path.split('.'));
    if (fingerprint(current) !== seen) stale.push(path);
  }
  return stale;
}

/** `true` when a pending op already sets or clears the CSRF secret (e.g. a rotation). */
export function csrfPending(ops: readonly SessionOp[]): boolean {
  return ops.some((op) => op.kind === 'meta' && 'csrf' in op.patch);
}
