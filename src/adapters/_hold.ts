/**
 * Private, node-only: hold a `node:http` response at its first header byte — the one hold of the
 * node and Express adapters and of the express-session facade. node:http and Express have no
 * async pre-header hook, so the response's `writeHead`, `write`, `end` and `flushHeaders` are
 * intercepted by module-level functions, the same for every response (no closure per response),
 * which find the response's {@link Hold} under a symbol.
 *
 * Where they sit: on `http.ServerResponse.prototype`, installed once (on the first hold) as
 * pass-throughs that act only for a response held in that mode — so holding a response adds one
 * property to it (the hold), not five. That matters on Express: it gives every request and
 * response a new prototype, after which V8 makes a new hidden class (map and descriptor array, in
 * the old generation) for every property added to that object; four patched methods cost ~6 KB
 * per request there. When a response would not reach them — one of the four is an own property
 * (compression, on-headers, express-session patch them per response) or a subclass overrides it —
 * the four are patched on the response itself instead, as before. A response goes on through
 * every later prototype Express gives it (mounted apps swap them), since all of them inherit from
 * `ServerResponse.prototype`.
 *
 * The first of those calls asks each owner ({@link HoldOwner.firstByte}): when none returns a
 * promise the response goes on at once, with nothing held or copied; otherwise that call and
 * every later one are held until the promises settle, then each owner adds its headers
 * ({@link HoldOwner.ready}) and the calls are replayed in order — or, on a rejection, nothing is
 * replayed and the owner answers instead ({@link HoldOwner.failed}). Writes while held return
 * `false` and `'drain'` follows the replay, so streams back off.
 *
 * While held, the response is what it would be without the hold after the handler's first
 * write: its headers count as sent — `headersSent` is `true` (an error handler does not write a
 * second response over it) and `setHeader`/`appendHeader`/`removeHeader` throw Node's own
 * `ERR_HTTP_HEADERS_SENT`. Both come from node itself: the hold puts a placeholder in the
 * response's header block (`_header`, the field those checks read) until it releases, so no
 * header method is patched and no accessor is defined on the response. Headers given to the first
 * `writeHead(status, [reason], headers)` are set on the response before the owners decide, so an
 * owner's `Set-Cookie`, `Vary` or `Cache-Control` is merged with them instead of being replaced
 * by them (no copy of the headers object is made).
 */

import { OutgoingMessage, ServerResponse } from 'node:http';
import { setWriteHeadHeaders } from './_write-head.js';

/** The side of a hold that decides whether, and how long, the response waits. */
export interface HoldOwner<T = unknown> {
  /**
   * Called once, synchronously, at the response's first header byte (headers still writable).
   * `undefined`: nothing to wait for (headers may be set right here). A promise: hold the
   * response until it settles. A throw counts as a rejection.
   */
  firstByte(res: ServerResponse): Promise<T> | undefined;
  /** The promise resolved: headers are writable again, add this owner's; the replay follows. */
  ready(res: ServerResponse, value: T): void;
  /** The promise rejected (or `firstByte` threw): the hold is released, nothing was replayed. */
  failed(res: ServerResponse, error: unknown): void;
  /** The client went away before the first header byte (the response will never be sent). */
  closed?(res: ServerResponse): void;
}

type Kind = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Method = (this: ServerResponse, ...args: unknown[]) => unknown;

const OPEN = 0;
const HOLDING = 1;
const DONE = 2;

/** Where a response keeps its hold. */
const HOLD: unique symbol = Symbol('sessionkit.hold');
type HeldResponse = ServerResponse & { [HOLD]?: Hold; _header?: string | null };

/**
 * Stands in for the header block while the response is held: node's `headersSent` and its header
 * setters read `_header`. Never sent: every path that sends it goes through the held methods.
 */
const PLACEHOLDER = 'held by sessionkit until the session is committed\r\n\r\n';

/** One response's hold: the methods it passes calls on to, its owners and what it holds. */
class Hold {
  phase = OPEN;
  /** Held calls, flat: kind, arguments, kind, arguments, … */
  held: unknown[] = [];
  needsDrain = false;
  readonly owners: HoldOwner[];
  readonly writeHead: Method;
  readonly write: Method;
  readonly end: Method;
  readonly flushHeaders: Method;

  /**
   * `shared`: the response reaches the prototype's interceptors (nothing patched on it); the
   * calls go on to what those interceptors stand in front of. Otherwise the response's own
   * methods are replaced, and the calls go on to them.
   */
  constructor(
    res: ServerResponse,
    owner: HoldOwner,
    readonly shared: boolean,
  ) {
    this.owners = [owner];
    const own = res as unknown as Record<Kind, Method>;
    this.writeHead = shared ? next('writeHead') : own.writeHead;
    this.write = shared ? next('write') : own.write;
    this.end = shared ? next('end') : own.end;
    this.flushHeaders = shared ? next('flushHeaders') : own.flushHeaders;
  }
}

/**
 * Hold `res` for `owner` (see the module header). When `res` is already held for another owner
 * and has not reached its first header byte, `owner` joins that hold. Returns `false`, holding
 * nothing, when the response's headers are already out (too late to hold).
 */
export function holdResponse<T>(res: ServerResponse, owner: HoldOwner<T>): boolean {
  const existing = holdOf(res);
  if (existing !== undefined && existing.phase === OPEN) {
    existing.owners.push(owner as HoldOwner);
    return true;
  }
  if (res.headersSent || res.writableEnded) return false;
  installShared();
  const shared = reachesShared(res);
  const hold = new Hold(res, owner as HoldOwner, shared);
  (res as HeldResponse)[HOLD] = hold;
  if (!shared) {
    res.writeHead = heldWriteHead as typeof res.writeHead;
    res.write = heldWrite as typeof res.write;
    res.end = heldEnd as typeof res.end;
    res.flushHeaders = heldFlushHeaders;
  }
  if (typeof owner.closed === 'function') res.on('close', onClose);
  return true;
}

/** `ServerResponse.prototype`'s own methods before the interceptors replaced them (`writeHead`). */
const OWN: Partial<Record<Kind, Method>> = {};
/** The prototype `ServerResponse.prototype` inherits the other methods from (`OutgoingMessage`'s). */
let parent: Record<Kind, Method> | undefined;

/**
 * What an interceptor stands in front of: the prototype's own method as it was when the
 * interceptors were installed, else the inherited one as it is now (patched later or not).
 */
function next(kind: Kind): Method {
  return OWN[kind] ?? (parent as Record<Kind, Method>)[kind];
}

/** Put the four interceptors on `ServerResponse.prototype`, once per process. */
function installShared(): void {
  if (parent !== undefined) return;
  const proto = ServerResponse.prototype as unknown as Record<Kind, Method>;
  parent = Object.getPrototypeOf(proto) as Record<Kind, Method>;
  const interceptors: Record<Kind, Method> = {
    writeHead: sharedWriteHead,
    write: sharedWrite,
    end: sharedEnd,
    flushHeaders: sharedFlushHeaders,
  };
  for (const kind of ['writeHead', 'write', 'end', 'flushHeaders'] as const) {
    if (Object.hasOwn(proto, kind)) OWN[kind] = proto[kind];
    Object.defineProperty(proto, kind, {
      value: interceptors[kind],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

/**
 * The hold of `res`, if any. It is an own property, so it is looked up as one: on Express every
 * response has a hidden class of its own, and a plain read of a property it lacks misses V8's
 * caches and walks all seven prototypes of an Express response.
 */
function holdOf(res: ServerResponse): Hold | undefined {
  return Object.hasOwn(res, HOLD) ? (res as HeldResponse)[HOLD] : undefined;
}

/**
 * Whether every one of the four methods of `res` is the interceptor: none is an own property, and
 * `res`'s prototype has the interceptors (read on the prototype, an object shared by every
 * response, rather than through the response itself — see {@link holdOf}).
 */
function reachesShared(res: ServerResponse): boolean {
  if (
    Object.hasOwn(res, 'writeHead') ||
    Object.hasOwn(res, 'write') ||
    Object.hasOwn(res, 'end') ||
    Object.hasOwn(res, 'flushHeaders')
  ) {
    return false;
  }
  const proto = Object.getPrototypeOf(res) as Record<Kind, Method> | null;
  return (
    proto !== null &&
    proto.writeHead === sharedWriteHead &&
    proto.write === sharedWrite &&
    proto.end === sharedEnd &&
    proto.flushHeaders === sharedFlushHeaders
  );
}

/** An interceptor's call: through the hold when its response is held in the shared mode. */
function intercept(res: ServerResponse, kind: Kind, args: unknown[]): unknown {
  const hold = holdOf(res);
  if (hold === undefined || !hold.shared || hold.phase === DONE) {
    return next(kind).apply(res, args);
  }
  return call(res, kind, args);
}

function sharedWriteHead(this: ServerResponse, ...args: unknown[]): unknown {
  return intercept(this, 'writeHead', args);
}
function sharedWrite(this: ServerResponse, ...args: unknown[]): unknown {
  return intercept(this, 'write', args);
}
function sharedEnd(this: ServerResponse, ...args: unknown[]): unknown {
  return intercept(this, 'end', args);
}
function sharedFlushHeaders(this: ServerResponse, ...args: unknown[]): unknown {
  return intercept(this, 'flushHeaders', args);
}

function heldWriteHead(this: ServerResponse, ...args: unknown[]): unknown {
  return call(this, 'writeHead', args);
}
function heldWrite(this: ServerResponse, ...args: unknown[]): unknown {
  return call(this, 'write', args);
}
function heldEnd(this: ServerResponse, ...args: unknown[]): unknown {
  return call(this, 'end', args);
}
function heldFlushHeaders(this: ServerResponse): void {
  call(this, 'flushHeaders', []);
}

/** One call of a held method: decide at the first, hold while waiting, pass through after. */
function call(res: ServerResponse, kind: Kind, args: unknown[]): unknown {
  const hold = (res as HeldResponse)[HOLD] as Hold;
  if (hold.phase === DONE) return hold[kind].apply(res, args);
  if (hold.phase === OPEN) {
    if (kind === 'writeHead') args = setWriteHeadHeaders(res, args);
    const outcome = decide(res, hold);
    // Nobody waits: the call goes on at once. An owner failed at once: it answered instead.
    if (outcome === GO) return hold[kind].apply(res, args);
    if (outcome === FAILED) return kind === 'write' ? false : ret(kind, res);
  }
  hold.held.push(kind, args);
  if (kind === 'write') {
    hold.needsDrain = true;
    return false;
  }
  return ret(kind, res);
}

/** What a held writeHead/end returns (`res`, for chaining) and a held flushHeaders (nothing). */
function ret(kind: Kind, res: ServerResponse): unknown {
  return kind === 'flushHeaders' ? undefined : res;
}

const GO = 0;
const HELD = 1;
const FAILED = 2;

/** Ask the owners at the first header byte: go on now, hold, or an owner failed at once. */
function decide(res: ServerResponse, hold: Hold): number {
  const { owners } = hold;
  const several = owners.length > 1;
  let work: Promise<unknown> | undefined;
  const waits: (Promise<unknown> | undefined)[] | undefined = several ? [] : undefined;
  for (let i = 0; i < owners.length; i++) {
    const owner = owners[i] as HoldOwner;
    let answer: Promise<unknown> | undefined;
    try {
      answer = owner.firstByte(res);
    } catch (error) {
      release(res, hold);
      owner.failed(res, error);
      return FAILED;
    }
    waits?.push(answer);
    work ??= answer;
  }
  if (work === undefined) {
    release(res, hold);
    return GO;
  }
  hold.phase = HOLDING;
  // Only node's own responses read `_header` in `headersSent` and the header setters; a stand-in
  // that is no OutgoingMessage is held all the same, without the placeholder.
  if (res instanceof OutgoingMessage) (res as HeldResponse)._header = PLACEHOLDER;
  (waits !== undefined ? settleAll(waits) : work).then(
    (value) => replay(res, hold, several ? (value as unknown[]) : [value]),
    (failure: unknown) => {
      release(res, hold);
      const { error, index } = several ? (failure as Failure) : { error: failure, index: 0 };
      (owners[index] as HoldOwner).failed(res, error);
    },
  );
  return HELD;
}

interface Failure {
  error: unknown;
  index: number;
}

/** Several owners' answers: every value, or the first failure with the failing owner's index. */
function settleAll(waits: readonly (Promise<unknown> | undefined)[]): Promise<unknown[]> {
  return Promise.all(
    waits.map((work, index) =>
      work === undefined
        ? undefined
        : work.catch((error: unknown) => Promise.reject<Failure>({ error, index })),
    ),
  );
}

/** Give the response back: real header block, original methods (where still ours), no hold. */
function release(res: ServerResponse, hold: Hold): void {
  hold.phase = DONE;
  const held = res as HeldResponse;
  if (held._header === PLACEHOLDER) held._header = null;
  // Nothing was patched on a response held in the shared mode.
  if (hold.shared) return;
  // A method patched again after ours (compression, on-headers) keeps its patch; it still calls
  // ours, which passes through from now on.
  if (res.writeHead === heldWriteHead) res.writeHead = hold.writeHead as typeof res.writeHead;
  if (res.write === heldWrite) res.write = hold.write as typeof res.write;
  if (res.end === heldEnd) res.end = hold.end as typeof res.end;
  if (res.flushHeaders === heldFlushHeaders) res.flushHeaders = hold.flushHeaders as () => void;
}

/** The owners' promises resolved: their headers, then the held calls in order, then `'drain'`. */
function replay(res: ServerResponse, hold: Hold, values: readonly unknown[]): void {
  release(res, hold);
  const { owners } = hold;
  for (let i = 0; i < owners.length; i++) {
    const owner = owners[i] as HoldOwner;
    try {
      owner.ready(res, values[i]);
    } catch (error) {
      // Its headers cannot be written (a cookie that does not serialize): nothing is replayed.
      owner.failed(res, error);
      return;
    }
  }
  const { held } = hold;
  hold.held = [];
  for (let i = 0; i < held.length; i += 2) {
    hold[held[i] as Kind].apply(res, held[i + 1] as unknown[]);
  }
  if (hold.needsDrain) res.emit('drain');
}

/** `'close'` listener (shared): the client left before the first header byte. */
function onClose(this: ServerResponse): void {
  const hold = holdOf(this);
  if (hold === undefined || hold.phase !== OPEN) return;
  release(this, hold);
  for (const owner of hold.owners) owner.closed?.(this);
}
