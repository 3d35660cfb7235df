/**
 * `sessionkit` — a decoded payload whose data is copied as it is read (docs/security.md §15,
 * §16): the parsed JSON of a record's data stays private, and each top-level value is copied into
 * frozen null-prototype containers, forbidden keys dropped, the first time a path reads it — all
 * of it only when the data is used whole. The codec (`codec.ts`) checks the envelope, the
 * metadata, the flash and the data's depth before it makes one.
 */

import type { SessionMeta, SessionPayload } from './codec.js';
import { type DataObject, FORBIDDEN, getAt, getFrom, nullObject } from './data.js';

/**
 * The value at `path` of `payload`'s data. A decoded payload whose data was not used whole yet
 * copies only the top-level value the path starts at (once); any other payload is read as it is.
 */
export function readAt(payload: SessionPayload, path: readonly string[]): unknown {
  if (path.length === 0 || !(payload instanceof DecodedPayload)) return getAt(payload.data, path);
  return getFrom(payload.top(path[0]!), path, 1);
}

/**
 * A payload fresh from decoding whose data is copied as it is read. `data` is an own enumerable
 * accessor, so a spread (`{ ...payload, meta }`) still carries the data, and every payload shares
 * one hidden class. @internal
 */
export class DecodedPayload implements SessionPayload {
  declare readonly data: DataObject;
  readonly flash: DataObject;
  readonly meta: SessionMeta;
  /** `d` as parsed: never handed out. */
  readonly #raw: DataObject;
  /** All of the data, once used whole. */
  #all: DataObject | undefined = undefined;
  /** The top-level values copied so far (before `#all`). */
  #read: DataObject | undefined = undefined;

  static readonly #DATA: PropertyDescriptor = {
    get(this: DecodedPayload): DataObject {
      return this.#whole();
    },
    enumerable: true,
  };

  constructor(raw: DataObject, flash: DataObject, meta: SessionMeta) {
    this.flash = flash;
    this.meta = meta;
    this.#raw = raw;
    Object.defineProperty(this, 'data', DecodedPayload.#DATA);
  }

  /** The top-level value under `key`, copied on first read; `undefined` when absent or dropped. */
  top(key: string): unknown {
    if (this.#all !== undefined) return Object.hasOwn(this.#all, key) ? this.#all[key] : undefined;
    this.#read ??= nullObject();
    const read = this.#read;
    if (key in read) return read[key];
    const raw = this.#raw;
    const value = Object.hasOwn(raw, key) && !FORBIDDEN.has(key) ? sanitize(raw[key]) : undefined;
    read[key] = value;
    return value;
  }

  #whole(): DataObject {
    if (this.#all === undefined) {
      const all = nullObject();
      for (const key in this.#raw) {
        const value = this.top(key);
        if (value !== undefined) all[key] = value;
      }
      this.#all = Object.freeze(all);
      this.#read = undefined;
    }
    return this.#all;
  }
}

/** Copy parsed JSON (checked by {@link within}) into frozen null-prototype containers. @internal */
export function sanitize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    // Arrays fresh from JSON.parse are ours to fill in place.
    for (let i = 0; i < value.length; i++) value[i] = sanitize(value[i]);
    return Object.freeze(value);
  }
  const out = nullObject();
  for (const key in value) {
    if (!FORBIDDEN.has(key)) out[key] = sanitize((value as DataObject)[key]);
  }
  return Object.freeze(out);
}

/**
 * `true` when parsed JSON `value`, at level `depth`, nests no deeper than `maxDepth` (under
 * forbidden keys, which are dropped, anything goes). Walks without copying. @internal
 */
export function within(value: unknown, maxDepth: number, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth > maxDepth) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!within(item, maxDepth, depth + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (!FORBIDDEN.has(key) && !within((value as DataObject)[key], maxDepth, depth + 1)) {
      return false;
    }
  }
  return true;
}

/** How many `{` and `[` characters `text` holds. @internal */
export function openers(text: string): number {
  let count = 0;
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) count++;
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) count++;
  return count;
}
