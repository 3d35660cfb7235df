/**
 * `sessionkit` — the one gateway to the store.
 *
 * Every store call of the core goes through the functions here (`storeGet`, `storeSet`, …):
 * each adds the deadline and its abort signal (the manager's shared wheel, `deadlines.ts`),
 * turns a failure into a `StoreError` and emits `store-error`, and traces the call on the
 * `sessionkit:store` diagnostics channel when someone listens (`diagnostics.ts`). Nothing else in
 * the core calls a store method.
 */

import { type Context, emit, short } from './context.js';
import { hasStoreSubscribers, type StoreOperation, traceStoreCall } from './diagnostics.js';
import { isSessionError, StoreError } from './errors.js';
import type {
  SessionStore,
  StoreCallOptions,
  StoreDeleteByUserOptions,
  StoreDeleteOptions,
  StoreEntry,
  StoreLockOptions,
  StoreRecord,
  StoreSetOptions,
  StoreUnlockOptions,
} from './store.js';
import { throwIfAborted } from './store.js';

/** `storeGet`: the live record under `key`, or `undefined`. Rejects with `StoreError`. @internal */
export function storeGet(ctx: Context, key: string): Promise<StoreRecord | undefined> {
  return call(ctx, 'get', invokeGet, key, undefined, NONE);
}

/**
 * `storeSet`: write `record` under `key`, as a compare-and-set when `ifVersion` is given.
 * Resolves `false` when the precondition failed. Rejects with `StoreError`. @internal
 */
export function storeSet(
  ctx: Context,
  key: string,
  record: StoreRecord,
  ifVersion?: number,
): Promise<boolean> {
  return call(
    ctx,
    'set',
    invokeSet,
    key,
    record,
    ifVersion === undefined ? NONE : { ifVersion, signal: undefined },
  );
}

/** `storeTouch`: move a live record's expiry. Resolves `false` when there is none. @internal */
export function storeTouch(ctx: Context, key: string, expiresAt: number): Promise<boolean> {
  return call(ctx, 'touch', invokeTouch, key, expiresAt, NONE);
}

/**
 * `storeDelete`: delete the record under `key` (only at version `ifVersion` when given). Resolves
 * `true` when a live record went. Rejects with `StoreError`. @internal
 */
export function storeDelete(ctx: Context, key: string, ifVersion?: number): Promise<boolean> {
  return call(
    ctx,
    'delete',
    invokeDelete,
    key,
    undefined,
    ifVersion === undefined ? NONE : { ifVersion, signal: undefined },
  );
}

/** `storeLock`: try once to take the lease lock on `key` for `owner`. @internal */
export function storeLock(ctx: Context, key: string, owner: string): Promise<boolean> {
  return call(ctx, 'lock', invokeLock, key, undefined, {
    owner,
    ttl: ctx.lockTtl,
    signal: undefined,
  });
}

/** `storeUnlock`: release `owner`'s lock on `key`. @internal */
export function storeUnlock(ctx: Context, key: string, owner: string): Promise<boolean> {
  return call(ctx, 'unlock', invokeUnlock, key, undefined, { owner, signal: undefined });
}

/** `storeListByUser`: the live records of `userId`. @internal */
export function storeListByUser(ctx: Context, userId: string): Promise<StoreEntry[]> {
  return call(ctx, 'listByUser', invokeListByUser, userId, undefined, NONE);
}

/** `storeDeleteByUser`: delete `userId`'s records except `except`; resolves how many went. @internal */
export function storeDeleteByUser(
  ctx: Context,
  userId: string,
  except: readonly string[] | undefined,
): Promise<number> {
  return call(ctx, 'deleteByUser', invokeDeleteByUser, userId, undefined, {
    except,
    signal: undefined,
  });
}

/**
 * `storeIds`: every live key, streamed. Each step of the scan runs under the deadline — a step
 * that takes longer aborts the scan's signal and fails — and a failure is a `StoreError` with the
 * `store-error` event. The caller's `signal` reaches the store; once it is aborted the scan
 * rejects with its reason, as it is. @internal
 */
export async function* storeIds(
  ctx: Context,
  signal: AbortSignal | undefined,
): AsyncGenerator<string, void, undefined> {
  const scan: Scan = { controller: new AbortController(), iterator: undefined, signal };
  const forward = (): void => scan.controller.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  let finished = false;
  try {
    for (;;) {
      throwIfAborted(signal);
      let step: IteratorResult<string> | typeof ABORTED;
      try {
        step = await call(ctx, 'ids', invokeIdsNext, scan, undefined, NONE);
      } catch (error) {
        finished = true; // a failed iterator is done: no return() (as with for await)
        throw error;
      }
      if (step === ABORTED) throw signal?.reason;
      if (step.done === true) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    signal?.removeEventListener('abort', forward);
    // The caller stopped early: let the store release what the scan holds.
    if (!finished) await call(ctx, 'ids', invokeIdsReturn, scan, undefined, NONE).catch(ignore);
  }
}

const NONE: Readonly<Record<never, never>> = Object.freeze({});

type Invoke<A, B, O, T> = (
  store: SessionStore,
  a: A,
  b: B,
  options: O & StoreCallOptions,
) => Promise<T>;

/** Operations whose first argument is a store key (the others take a user id or a scan). */
const KEYED: ReadonlySet<StoreOperation> = new Set([
  'get',
  'set',
  'touch',
  'delete',
  'lock',
  'unlock',
]);

// Traced on `sessionkit:store` only while someone listens: an unobserved call builds no message
// and no closure. The message carries the key's handle, never a user id.
function call<A, B, O extends object, T>(
  ctx: Context,
  operation: StoreOperation,
  invoke: Invoke<A, B, O, T>,
  a: A,
  b: B,
  extra: O,
): Promise<T> {
  if (!hasStoreSubscribers()) return run(ctx, operation, invoke, a, b, extra);
  const handle = KEYED.has(operation) && typeof a === 'string' ? short(a) : undefined;
  return traceStoreCall({ operation, store: ctx.store.name, handle }, () =>
    run(ctx, operation, invoke, a, b, extra),
  );
}

// Every store call runs under a deadline: a backend that hangs (an offline queue, a dead TCP
// peer) becomes a StoreError — a 503 — instead of a request that never ends. The deadline is the
// manager's shared wheel (deadlines.ts): no timer or AbortController of its own per call, and no
// async frame either — the wheel's one promise per call also maps the failure.
function run<A, B, O extends object, T>(
  ctx: Context,
  operation: StoreOperation,
  invoke: Invoke<A, B, O, T>,
  a: A,
  b: B,
  extra: O,
): Promise<T> {
  const { store, deadlines } = ctx;
  if (deadlines === undefined) return runUnbounded(ctx, operation, invoke, a, b, extra);
  const tick = deadlines.enter();
  let options: StoreCallOptions = tick.options;
  if (extra !== NONE) {
    // The call's own options object (made by the store* function above, with a `signal` slot):
    // given the tick's signal in place — a spread into a new object took V8's slow path per call.
    options = extra as StoreCallOptions;
    options.signal = tick.options.signal;
  }
  let work: Promise<T>;
  try {
    work = invoke(store, a, b, options as O);
  } catch (error) {
    work = Promise.reject(error); // e.g. a store lacking an optional method
  }
  return deadlines.guard(tick, operation, work, storeFailure, ctx);
}

/**
 * {@link run} without a deadline (`storeTimeout: 0`, or an in-process store whose calls settle
 * before they return): the store's promise and one reaction that maps a failure.
 */
function runUnbounded<A, B, O extends object, T>(
  ctx: Context,
  operation: StoreOperation,
  invoke: Invoke<A, B, O, T>,
  a: A,
  b: B,
  extra: O,
): Promise<T> {
  let work: Promise<T>;
  try {
    work = invoke(ctx.store, a, b, extra);
  } catch (error) {
    work = Promise.reject(error);
  }
  return work.then(undefined, rethrowFor(ctx, operation));
}

/** The one rejection handler per operation {@link runUnbounded} attaches (`ctx.rethrow`). */
function rethrowFor(ctx: Context, operation: StoreOperation): (error: unknown) => never {
  let handler = ctx.rethrow.get(operation);
  if (handler === undefined) {
    handler = (error) => {
      throw storeFailure(ctx, operation, error);
    };
    ctx.rethrow.set(operation, handler);
  }
  return handler;
}

/**
 * What a failed store call rejects with: a `SessionError` as it is, anything else as a
 * `StoreError` naming the store and the operation (the backend's error as its cause); a
 * `StoreError` also emits `store-error`.
 */
function storeFailure(ctx: Context, operation: string, error: unknown): unknown {
  const wrapped = isSessionError(error)
    ? error
    : new StoreError(`The ${ctx.store.name} session store failed during ${operation}.`, {
        cause: error,
      });
  if (isSessionError(wrapped, 'ERR_SESSION_STORE')) {
    emit(ctx, { type: 'store-error', operation: operation as StoreOperation, code: wrapped.code });
  }
  return wrapped;
}

// One named invoker per store method: module-level, so no closure is made per call and a stack
// trace names the method. A store lacking an optional method fails here, as a StoreError.
function invokeGet(store: SessionStore, key: string, _: undefined, o: StoreCallOptions) {
  return store.get(key, o);
}
function invokeSet(store: SessionStore, key: string, record: StoreRecord, o: StoreSetOptions) {
  return store.set(key, record, o);
}
function invokeTouch(store: SessionStore, key: string, expiresAt: number, o: StoreCallOptions) {
  return store.touch(key, expiresAt, o);
}
function invokeDelete(store: SessionStore, key: string, _: undefined, o: StoreDeleteOptions) {
  return store.delete(key, o);
}
function invokeLock(store: SessionStore, key: string, _: undefined, o: StoreLockOptions) {
  return store.lock!(key, o);
}
function invokeUnlock(store: SessionStore, key: string, _: undefined, o: StoreUnlockOptions) {
  return store.unlock!(key, o);
}
function invokeListByUser(store: SessionStore, userId: string, _: undefined, o: StoreCallOptions) {
  return store.listByUser!(userId, o);
}
function invokeDeleteByUser(
  store: SessionStore,
  userId: string,
  _: undefined,
  o: StoreDeleteByUserOptions,
) {
  return store.deleteByUser!(userId, o);
}

/** One `ids()` scan: its iterator (made by the first step) and the signal the store was given. */
interface Scan {
  readonly controller: AbortController;
  iterator: AsyncIterator<string> | undefined;
  /** The caller's signal. */
  readonly signal: AbortSignal | undefined;
}

/** A step that failed because the caller aborted the scan: rejected outside the gateway. */
const ABORTED: unique symbol = Symbol('aborted');

async function invokeIdsNext(
  store: SessionStore,
  scan: Scan,
  _: undefined,
  o: StoreCallOptions,
): Promise<IteratorResult<string> | typeof ABORTED> {
  // This step's deadline aborts the whole scan: the store saw one signal, the scan's. The
  // deadline's signal is shared with other calls and outlives the step: stop listening after it.
  const deadline = o.signal;
  const forward = (): void => scan.controller.abort(deadline?.reason);
  deadline?.addEventListener('abort', forward, { once: true });
  try {
    scan.iterator ??= store.ids!({ signal: scan.controller.signal })[Symbol.asyncIterator]();
    return await scan.iterator.next();
  } catch (error) {
    if (scan.signal?.aborted) return ABORTED;
    throw error;
  } finally {
    deadline?.removeEventListener('abort', forward);
  }
}

async function invokeIdsReturn(_store: SessionStore, scan: Scan): Promise<unknown> {
  return scan.iterator?.return?.();
}

function ignore(): undefined {
  return undefined;
}
