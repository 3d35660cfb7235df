/**
 * `sessionkit` — a payload being changed by ops, in time linear in the work done.
 *
 * Applying an op copies only the containers on its path that this draft has not copied yet;
 * its copies stay writable ("owned") until they are handed out, and are frozen then. So N writes
 * cost O(N × path depth + bytes written) — a loop of `flash.add()` or `set()` calls no longer
 * copies the whole list or object at every step (docs/security.md §16).
 *
 * With `maxBytes`, the draft also keeps the exact encoded size of the payload as it changes —
 * every op adds what it writes and subtracts what it replaces, each measured once — and refuses
 * an op that would grow the payload past the bound with `TooLargeError` before applying it.
 */

import {
  type DataObject,
  emptyObject,
  PAYLOAD_FORMAT_VERSION,
  type SessionMeta,
  type SessionPayload,
  toValueAt,
} from './codec.js';
import { jsonBytes, nullObject } from './data.js';
import { TooLargeError } from './errors.js';
import type { SessionOp } from './ops.js';

function isObject(value: unknown): value is DataObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(node: DataObject, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/** A payload under change: apply ops, read values (frozen), then take the result. @internal */
export class Draft {
  data: DataObject;
  flash: DataObject;
  meta: SessionMeta;
  readonly #base: SessionPayload;
  readonly #maxDepth: number;
  /** Containers this draft made: writable in place until handed out; objects with their key count. */
  readonly #owned = new Map<object, number>();
  /** The size bound, or `undefined` when not enforced. */
  readonly #maxBytes: number | undefined;
  /** Exact change of the encoded size since `base`. */
  #delta = 0;
  /** Encoded size of `base`, measured once the change is large enough to matter. */
  #baseBytes: number | undefined;

  constructor(base: SessionPayload, maxDepth: number, maxBytes?: number) {
    this.#base = base;
    this.data = base.data;
    this.flash = base.flash;
    this.meta = base.meta;
    this.#maxDepth = maxDepth;
    this.#maxBytes = maxBytes;
  }

  /** The payload this draft started from. */
  get base(): SessionPayload {
    return this.#base;
  }

  /**
   * Apply `op`. With a size bound and `check`, throws `TooLargeError` — and changes nothing —
   * when the op would grow the payload past it. An `update` op runs its function and records
   * the result on the op; one that throws changes nothing.
   */
  apply(op: SessionOp, check = true): void {
    switch (op.kind) {
      case 'set':
        this.#set(op.path, op.value, check);
        break;
      case 'clear':
        this.#grow(this.#maxBytes === undefined ? 0 : 2 - jsonBytes(this.data), check);
        this.data = emptyObject();
        break;
      case 'merge':
        this.#merge(op.patch, check);
        break;
      case 'update': {
        const next = toValueAt(op.path, op.fn(this.read(op.path)), this.#maxDepth);
        this.#set(op.path, next, check);
        op.result = next;
        break;
      }
      case 'flash':
        this.#flash(op.key, op.value, op.replace, check);
        break;
      case 'flash-take':
        op.taken = (this.#handOut(own(this.flash, op.key)) as unknown[] | undefined) ?? [];
        this.#putFlash(op.key, undefined, check);
        break;
      case 'flash-restore': {
        const list = (own(this.flash, op.key) as unknown[] | undefined) ?? [];
        this.#putFlash(op.key, [...op.values, ...list], check);
        break;
      }
      case 'meta': {
        const meta = { ...this.meta, ...op.patch };
        if (this.#maxBytes !== undefined) this.#grow(jsonBytes(meta) - jsonBytes(this.meta), check);
        this.meta = meta;
        break;
      }
    }
  }

  /** The data value at `path` (frozen: a container handed out is never changed afterwards). */
  read(path: readonly string[]): unknown {
    let node: unknown = this.data;
    for (const segment of path) {
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) {
        return undefined;
      }
      node = (node as DataObject)[segment];
    }
    return this.#handOut(node);
  }

  /**
   * The encoded size of the payload as it stands, in bytes — what `encodePayload` would measure
   * (kept up to date only with a size bound). Measures the base the first time.
   */
  encodedBytes(): number {
    this.#baseBytes ??= encodedSize(this.#base);
    return this.#baseBytes + this.#delta;
  }

  /** The payload as it stands, frozen throughout. The draft stays usable. */
  result(): SessionPayload {
    for (const node of this.#owned.keys()) Object.freeze(node);
    this.#owned.clear();
    return { data: this.data, flash: this.flash, meta: this.meta };
  }

  // --- data ---------------------------------------------------------------------------------

  #set(path: readonly string[], value: unknown, check: boolean): void {
    // The deepest existing object on the path, and what sits at the next segment.
    let node = this.data;
    let depth = 0;
    for (; depth < path.length - 1; depth++) {
      const child = own(node, path[depth]!);
      if (!isObject(child)) break;
      node = child;
    }
    const key = path[depth]!;
    const old = own(node, key);
    const whole = depth === path.length - 1;
    if (value === undefined && (!whole || old === undefined)) return; // nothing to delete
    if (this.#maxBytes !== undefined) {
      let added = value === undefined ? 0 : jsonBytes(value);
      for (let i = path.length - 1; i > depth; i--) added += jsonBytes(path[i]) + 3; // {"k":…}
      this.#grow(this.#entryDelta(node, key, old, value === undefined ? undefined : added), check);
    }
    // Copy-on-write down to `node`, then put the value (wrapped in new objects) or delete.
    let target = this.#writable(this.data);
    this.data = target;
    for (let i = 0; i < depth; i++) {
      const child = this.#writable(target[path[i]!] as DataObject);
      target[path[i]!] = child;
      target = child;
    }
    if (value === undefined) {
      delete target[key];
      this.#owned.set(target, this.#owned.get(target)! - 1);
      return;
    }
    let wrapped = value;
    for (let i = path.length - 1; i > depth; i--) {
      const object = nullObject();
      object[path[i]!] = wrapped;
      this.#owned.set(object, 1);
      wrapped = object;
    }
    if (old === undefined) this.#owned.set(target, this.#owned.get(target)! + 1);
    target[key] = wrapped;
  }

  #merge(patch: DataObject, check: boolean): void {
    const keys = Object.keys(patch);
    if (this.#maxBytes !== undefined) {
      // The whole patch is measured first, so a refused merge changes nothing.
      let count = this.#count(this.data);
      let delta = 0;
      for (const key of keys) {
        const old = own(this.data, key);
        const value = jsonBytes(patch[key]);
        if (old !== undefined) delta += value - jsonBytes(old);
        else delta += jsonBytes(key) + 1 + value + (count++ > 0 ? 1 : 0);
      }
      this.#grow(delta, check);
    }
    const target = this.#writable(this.data);
    this.data = target;
    let count = this.#owned.get(target)!;
    for (const key of keys) {
      if (!Object.hasOwn(target, key)) count++;
      target[key] = patch[key];
    }
    this.#owned.set(target, count);
  }

  // --- flash --------------------------------------------------------------------------------

  #flash(key: string, value: unknown, replace: boolean, check: boolean): void {
    const list = own(this.flash, key) as unknown[] | undefined;
    if (replace || list === undefined) {
      this.#putFlash(key, [value], check);
      return;
    }
    if (this.#maxBytes !== undefined)
      this.#grow(jsonBytes(value) + (list.length > 0 ? 1 : 0), check);
    const flash = this.#writable(this.flash);
    this.flash = flash;
    if (this.#owned.has(list)) list.push(value);
    else {
      const copy = [...list, value];
      this.#owned.set(copy, 0);
      flash[key] = copy;
    }
  }

  /** Put `list` (owned from now on) under flash `key`, or remove the key. */
  #putFlash(key: string, list: unknown[] | undefined, check: boolean): void {
    const old = own(this.flash, key);
    if (list === undefined && old === undefined) return;
    if (this.#maxBytes !== undefined) {
      this.#grow(this.#entryDelta(this.flash, key, old, list && jsonBytes(list)), check);
    }
    const flash = this.#writable(this.flash);
    this.flash = flash;
    const count = this.#owned.get(flash)!;
    if (list === undefined) {
      delete flash[key];
      this.#owned.set(flash, count - 1);
    } else {
      if (old === undefined) this.#owned.set(flash, count + 1);
      this.#owned.set(list, 0);
      flash[key] = list;
    }
  }

  // --- ownership and size -------------------------------------------------------------------

  /** `node` itself when this draft owns it, else an owned copy (one level). */
  #writable(node: DataObject): DataObject {
    if (this.#owned.has(node)) return node;
    const copy = nullObject();
    let count = 0;
    for (const key of Object.keys(node)) {
      copy[key] = node[key];
      count++;
    }
    this.#owned.set(copy, count);
    return copy;
  }

  /** Freeze an owned container (and the owned ones inside it) before it leaves the draft. */
  #handOut(value: unknown): unknown {
    if (typeof value !== 'object' || value === null || !this.#owned.has(value)) return value;
    this.#owned.delete(value);
    for (const item of Object.values(value)) this.#handOut(item);
    return Object.freeze(value);
  }

  #count(node: DataObject): number {
    return this.#owned.get(node) ?? Object.keys(node).length;
  }

  /**
   * Size change of putting a value of `added` bytes (`undefined`: removing the entry) under
   * `key` of `node`, whose current value is `old`: `{"a":1}` → `{"a":1,"b":2}` adds the entry
   * and a comma.
   */
  #entryDelta(node: DataObject, key: string, old: unknown, added: number | undefined): number {
    if (old !== undefined && added !== undefined) return added - jsonBytes(old);
    const entry = jsonBytes(key) + 1 + (added ?? jsonBytes(old));
    if (added !== undefined) return entry + (this.#count(node) > 0 ? 1 : 0);
    return -(entry + (this.#count(node) > 1 ? 1 : 0));
  }

  /**
   * Account for a change of `delta` bytes; with `check`, refuse one that grows the payload past
   * the bound. The base is measured once the change exceeds an eighth of the bound: smaller
   * growth is left to the size check at commit.
   */
  #grow(delta: number, check: boolean): void {
    const max = this.#maxBytes;
    if (max === undefined) return;
    const next = this.#delta + delta;
    if (check && delta > 0 && next * 8 > max) {
      this.#baseBytes ??= encodedSize(this.#base);
      const size = this.#baseBytes + next;
      if (size > max) throw new TooLargeError('The session', size, max);
    }
    this.#delta = next;
  }
}

/** Encoded size of a payload, in bytes: what `encodePayload` measures. */
function encodedSize(payload: SessionPayload): number {
  return jsonBytes({
    v: PAYLOAD_FORMAT_VERSION,
    d: payload.data,
    f: payload.flash,
    m: payload.meta,
  });
}
