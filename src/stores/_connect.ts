/**
 * Private (not exported from the package): the one gateway for calling an express-session
 * ("connect") store, shared by `sessionkit/stores/connect` and `sessionkit/express-session`.
 *
 * Real connect stores misbehave in ways a caller must survive: some call a callback twice (once
 * more when the callback throws — connect-pg-simple then also deletes the row), some answer
 * synchronously, some return a promise instead of (or as well as) calling back, and some never
 * answer at all. {@link callConnect} settles on the first answer, never throws inside a
 * callback, bounds every call by a deadline and honours an abort signal.
 */

import { StoreError } from '../core/errors.js';

/** A callback in the node style that connect stores call. */
export type ConnectCallback = (error?: unknown, value?: unknown) => void;

/**
 * The structural shape of an express-session store (`express-session`'s `Store`): `get`, `set`
 * and `destroy` are required; `touch`, `on` and `all` are optional. Any connect-* store
 * (connect-redis, connect-pg-simple, connect-mongo, express-session's `MemoryStore`) fits.
 */
export interface ConnectStoreLike {
  get(sid: string, callback: ConnectCallback): unknown;
  // `session: never`: every store declares its own session type (express-session's `SessionData`,
  // …); callers hand over a `ConnectSessionObject` with an explicit cast.
  set(sid: string, session: never, callback?: ConnectCallback): unknown;
  destroy(sid: string, callback?: ConnectCallback): unknown;
  touch?(sid: string, session: never, callback?: ConnectCallback): unknown;
  on?(event: string, listener: () => void): unknown;
}

/** What express-session keeps in a connect store: the cookie and the application's data. */
export interface ConnectSessionObject {
  cookie: {
    originalMaxAge: number | null;
    expires?: string | Date | null | undefined;
    [attribute: string]: unknown;
  };
  [key: string]: unknown;
}

/** Deadline and cancellation of one {@link callConnect}. */
export interface ConnectCallOptions {
  /** Milliseconds before an unanswered call rejects with `StoreError`. */
  timeout: number;
  /** Reject with its reason once aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * Call one connect store method and settle on its first answer: the callback (sync or async),
 * a returned promise that resolves a value other than `undefined` or rejects, or a synchronous
 * throw. An error whose `code` is `ENOENT` resolves
 * `undefined` (file-backed stores report "not found" that way); any other error rejects with a
 * `StoreError` (`ERR_SESSION_STORE`, cause = the store's error, message naming only `operation`).
 * No answer within `timeout` rejects with `StoreError`; an aborted `signal` rejects with its
 * reason. Later answers are ignored.
 */
export function callConnect(
  operation: string,
  invoke: (callback: ConnectCallback) => unknown,
  options: ConnectCallOptions,
): Promise<unknown> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value: unknown, failed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!failed) resolve(value);
      else if (isNotFound(error)) resolve(undefined);
      else reject(wrap(operation, error));
    };
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      finish(new Error(`No answer within ${options.timeout} ms.`), undefined, true);
    }, options.timeout);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    // The callback only records the answer: it never throws back into the store, so a store
    // that would call it again (or delete the row) on a throwing callback never gets the chance.
    const callback: ConnectCallback = (error, value) => {
      finish(error, value, error !== undefined && error !== null);
    };
    try {
      const returned = invoke(callback);
      if (isThenable(returned)) {
        // Every store express-session can use calls back, so a promise that resolves `undefined`
        // (an `async` method that calls back later) is no answer; one that resolves a value, or
        // rejects, is.
        returned.then(
          (value) => {
            if (value !== undefined) finish(undefined, value, false);
          },
          (error: unknown) =>
            finish(error ?? new Error('Rejected without a reason.'), undefined, true),
        );
      }
    } catch (error) {
      finish(error ?? new Error('Thrown without a reason.'), undefined, true);
    }
  });
}

function isNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT'
  );
}

function wrap(operation: string, error: unknown): StoreError {
  return new StoreError(`The connect session store failed during ${operation}.`, {
    cause: error instanceof Error ? error : new Error(String(error)),
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
