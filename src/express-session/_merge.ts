/**
 * Private: the facade's merge rules. A request's changes to `req.session` are the difference
 * between the JSON it loaded and the JSON it ends with, as operations on paths; when another
 * request wrote the session meanwhile, the operations are re-applied on the fresh data:
 *
 * - a key added, replaced or removed → the same on the fresh data (last writer wins per key);
 *   an object added where the fresh data has an object too → merged key by key;
 * - a plain object changed → its keys one by one (writes to different keys both survive);
 * - a number changed from `a` to `b` → `fresh + (b - a)` when the fresh value is a number: the
 *   increment is kept, so parallel `count++` requests all count. (A number *assigned* in a race
 *   is therefore added as a difference; the migration guide says so.)
 * - arrays and other values are replaced whole.
 *
 * `cookie` at the top level is not merged: the writer's cookie is taken as is.
 */

/** A JSON object as parsed from a record. */
export type JsonObject = { [key: string]: unknown };

/** One change at a path of keys. */
export type MergeOp =
  | { kind: 'set'; path: string[]; value: unknown }
  | { kind: 'delete'; path: string[] }
  | { kind: 'add'; path: string[]; delta: number; value: number };

/** The operations that turn `before` into `after` (both JSON objects; `cookie` skipped at the top). */
export function diff(before: JsonObject, after: JsonObject): MergeOp[] {
  const ops: MergeOp[] = [];
  walk(before, after, [], ops);
  return ops;
}

/**
 * `fresh` with `ops` applied (a new object; `fresh` is not changed), and `cookie` set to
 * `cookie`. Intermediate values that are not plain objects are replaced by objects.
 */
export function applyOps(fresh: JsonObject, ops: readonly MergeOp[], cookie: unknown): JsonObject {
  const out = structuredClone(fresh);
  for (const op of ops) {
    let target: JsonObject = out;
    for (const key of op.path.slice(0, -1)) {
      const next = Object.hasOwn(target, key) ? target[key] : undefined;
      if (!isPlainObject(next)) put(target, key, {});
      target = target[key] as JsonObject;
    }
    const last = op.path[op.path.length - 1] as string;
    if (op.kind === 'delete') delete target[last];
    else if (op.kind === 'set') {
      const current = Object.hasOwn(target, last) ? target[last] : undefined;
      // An object this request created where another request created one too: merge them.
      if (isPlainObject(current) && isPlainObject(op.value)) mergeInto(current, op.value);
      else put(target, last, structuredClone(op.value));
    } else {
      const current = Object.hasOwn(target, last) ? target[last] : undefined;
      put(
        target,
        last,
        typeof current === 'number' && Number.isFinite(current) ? current + op.delta : op.value,
      );
    }
  }
  put(out, 'cookie', cookie);
  return out;
}

function walk(before: JsonObject, after: JsonObject, path: string[], ops: MergeOp[]): void {
  const top = path.length === 0;
  for (const key of Object.keys(before)) {
    if (top && key === 'cookie') continue;
    if (!Object.hasOwn(after, key)) ops.push({ kind: 'delete', path: [...path, key] });
  }
  for (const key of Object.keys(after)) {
    if (top && key === 'cookie') continue;
    const a = after[key];
    const at = [...path, key];
    if (!Object.hasOwn(before, key)) {
      ops.push({ kind: 'set', path: at, value: a });
      continue;
    }
    const b = before[key];
    if (isPlainObject(b) && isPlainObject(a)) walk(b, a, at, ops);
    else if (typeof b === 'number' && typeof a === 'number') {
      if (a !== b) ops.push({ kind: 'add', path: at, delta: a - b, value: a });
    } else if (JSON.stringify(a) !== JSON.stringify(b))
      ops.push({ kind: 'set', path: at, value: a });
  }
}

function mergeInto(target: JsonObject, source: JsonObject): void {
  for (const [key, value] of Object.entries(source)) {
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(current) && isPlainObject(value)) mergeInto(current, value);
    else put(target, key, structuredClone(value));
  }
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Defined, not assigned: a key named "__proto__" stays an own data property (docs/security.md §15).
function put(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
