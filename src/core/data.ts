/**
 * `sessionkit` — the JSON data rules of session data (docs/security.md §15, §16): what a handler
 * may store (null, booleans, finite numbers, strings, arrays and plain objects, bounded in depth),
 * how it is copied into frozen null-prototype containers on the way in, dot paths and reading at
 * one. `__proto__` / `constructor` / `prototype` keys are refused on the way in (and dropped on
 * the way out by the payload codec, `codec.ts`), so no write can pollute a prototype.
 */

import { DataError } from './errors.js';

/** A JSON object with a null prototype, as stored in a session. */
export type DataObject = { [key: string]: unknown };

/** Keys never stored nor decoded: they could reach a prototype. @internal */
export const FORBIDDEN: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A new, empty, writable null-prototype object that V8 keeps in fast mode. `Object.create(null)`
 * makes a dictionary-mode object: its keys are added, frozen and serialized (`JSON.stringify`)
 * on V8's slow paths, and each `Object.freeze` of one allocates a new hidden class. `{}` with its
 * prototype set to `null` before any key is added has the same observable shape — no prototype,
 * so no assignment can reach an `Object.prototype` setter — and shares hidden classes with every
 * object given the same keys in the same order. @internal
 */
export function nullObject(): DataObject {
  const object = {};
  Object.setPrototypeOf(object, null);
  return object as DataObject;
}

/** An empty, frozen, null-prototype object. */
export function emptyObject(): DataObject {
  return Object.freeze(nullObject());
}

/**
 * Split and check a dot path (`'user.profile.name'`). Throws `DataError` (`ERR_SESSION_DATA`)
 * for an empty path, an empty segment, or a `__proto__` / `constructor` / `prototype` segment.
 */
export function parsePath(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DataError('A session key must be a non-empty string.');
  }
  // A key without a dot (the usual case) needs no split.
  const segments = path.includes('.') ? path.split('.') : [path];
  for (const segment of segments) {
    if (segment.length === 0) throw new DataError(`Session key "${path}" has an empty segment.`);
    if (FORBIDDEN.has(segment)) {
      throw new DataError(`Session key segment "${segment}" is not allowed.`);
    }
  }
  return segments;
}

/**
 * Copy `value` into frozen, null-prototype session data. Throws `DataError` (`ERR_SESSION_DATA`)
 * for anything that is not JSON data: `undefined`, functions, symbols, bigint, non-finite
 * numbers, class instances (Date, Map, …), cycles, forbidden keys, or nesting deeper than
 * `maxDepth`.
 */
export function toSessionValue(value: unknown, maxDepth: number, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new DataError('Session data cannot hold NaN or Infinity.');
      return value;
    case 'object':
      break;
    default:
      throw new DataError(`Session data cannot hold a ${typeof value}; use JSON data only.`);
  }
  if (value === null) return null;
  if (depth >= maxDepth) throw new DataError(`Session data is nested deeper than ${maxDepth}.`);
  if (Array.isArray(value)) {
    const out = value.map((item) => {
      if (item === undefined) throw new DataError('Session arrays cannot hold undefined.');
      return toSessionValue(item, maxDepth, depth + 1);
    });
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new DataError(
      'Session data accepts plain objects only (no Date, Map or class instances).',
    );
  }
  if (proto === null && isSessionData(value, maxDepth, depth)) return value; // kept as it is
  const out = nullObject();
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key)) throw new DataError(`Session data key "${key}" is not allowed.`);
    const item = (value as DataObject)[key];
    if (item === undefined) continue; // like JSON.stringify
    out[key] = toSessionValue(item, maxDepth, depth + 1);
  }
  return Object.freeze(out);
}

/**
 * `value` is already session data that fits at `depth`: frozen null-prototype objects and frozen
 * arrays all the way down, JSON values only, no forbidden key, within `maxDepth` counting the
 * levels above it. Walks without copying, so data read from the session and set again keeps its
 * identity; anything else (a hand-made frozen object holding a function, a mutable child, data
 * re-set below a path that makes it too deep) takes the copying path of {@link toSessionValue},
 * which refuses or copies it.
 */
function isSessionData(value: unknown, maxDepth: number, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= maxDepth || !Object.isFrozen(value)) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isSessionData(item, maxDepth, depth + 1)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== null) return false;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key) || !isSessionData((value as DataObject)[key], maxDepth, depth + 1)) {
      return false;
    }
  }
  return true;
}

/**
 * Copy `value` for storage at `path` of the session data (or, for a flash value, in the list at
 * `[key]`): {@link toSessionValue} with the path's own levels counted, so nothing is accepted
 * that the stored record could not decode. Throws `DataError` past `maxDepth` levels in all.
 */
export function toValueAt(path: readonly string[], value: unknown, maxDepth: number): unknown {
  if (path.length > maxDepth) {
    throw new DataError(`Session data is nested deeper than ${maxDepth}.`);
  }
  return toSessionValue(value, maxDepth, path.length);
}

/** Read the value at `segments` (undefined when any step is missing or not an object/array). */
export function getAt(root: DataObject, segments: readonly string[]): unknown {
  return getFrom(root, segments, 0);
}

/** {@link getAt} below `node`, for `segments` from index `from` on. */
export function getFrom(node: unknown, segments: readonly string[], from: number): unknown {
  for (let i = from; i < segments.length; i++) {
    if (typeof node !== 'object' || node === null) return undefined;
    const segment = segments[i]!;
    if (!Object.hasOwn(node, segment)) return undefined;
    node = (node as DataObject)[segment];
  }
  return node;
}

/**
 * `true` when two session values are the same JSON data: identical, or containers with equal
 * members (object keys in any order; `undefined` only equals `undefined`).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !jsonEqual((a as DataObject)[key], (b as DataObject)[key])) {
      return false;
    }
  }
  return true;
}

/** `true` when `object` has no enumerable key (an empty flash, the usual case). @internal */
export function hasNoKeys(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/** Strings `JSON.stringify` writes as they are, between quotes: printable ASCII but `"` and `\`. */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * `JSON.stringify(text)`, without the serializer for the usual case (ids, addresses, plain
 * words): a string of printable ASCII other than `"` and `\` is quoted as it is. Each
 * `JSON.stringify` call enters the engine's C++ serializer (about 1 300 instructions for a short
 * string; the check and the quotes, a few dozen). @internal
 */
export function jsonQuote(text: string): string {
  return VERBATIM.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** A string or `null` as JSON ({@link jsonQuote}). @internal */
export function jsonOrNull(value: string | null): string {
  return value === null ? 'null' : jsonQuote(value);
}

/**
 * The UTF-8 byte length of `JSON.stringify(value)` for a JSON value (never `undefined`): numbers,
 * booleans, `null` and verbatim strings ({@link jsonQuote}) are measured without serializing.
 * @internal
 */
export function jsonBytes(value: unknown): number {
  switch (typeof value) {
    case 'number':
      // A finite number's JSON is its shortest round-trip form, as String() writes it.
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'string':
      if (VERBATIM.test(value)) return value.length + 2;
      break;
    default:
      if (value === null) return 4;
  }
  return Buffer.byteLength(JSON.stringify(value));
}
