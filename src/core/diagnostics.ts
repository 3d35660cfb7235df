/**
 * `sessionkit` — diagnostics channels (`node:diagnostics_channel`): what the core publishes for
 * observers other than the manager's `onEvent` owner (APM agents, `sessionkit/otel`).
 *
 * - {@link EVENT_CHANNEL} (`sessionkit:event`): one message per lifecycle event
 *   ({@link DiagnosticEvent}).
 * - {@link STORE_CHANNEL} (`sessionkit:store`): a `TracingChannel` around every store call made
 *   by the core's store gateway — `tracing:sessionkit:store:start`, `:end`, `:asyncStart`,
 *   `:asyncEnd`, `:error` — with a {@link StoreCallMessage}.
 *
 * Channels are process-wide: any module may subscribe. So messages carry handles (the first 12
 * characters of a store key, itself a SHA-256 of the id) and the store's name, never a session
 * id, a user id, a cookie or session data. The guess events (`invalid-cookie`, `unknown-id`) and
 * `brute-force` carry the client's address, for per-address counting by security tooling. With
 * no subscriber nothing is built or published.
 *
 * Also the library's process warnings ({@link warnOnce}): each code at most once per process.
 */

import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { SessionEvent } from './options.js';

/** Name of the lifecycle event channel. */
export const EVENT_CHANNEL = 'sessionkit:event';
/** Name of the store call tracing channel (its channels are `tracing:sessionkit:store:<event>`). */
export const STORE_CHANNEL = 'sessionkit:store';

/** A store method the core calls through its gateway. */
export type StoreOperation =
  | 'get'
  | 'set'
  | 'touch'
  | 'delete'
  | 'lock'
  | 'unlock'
  | 'listByUser'
  | 'deleteByUser'
  | 'ids';

/**
 * The message of one traced store call. The same object travels through `start`, `end`,
 * `asyncStart`, `asyncEnd` and `error`; subscribers may add their own fields to it (e.g. a start
 * time). `result` is set on success, `error` (a `SessionError`) on failure.
 */
export interface StoreCallMessage {
  /** The store method. */
  readonly operation: StoreOperation;
  /** The store's `name` (`'redis'`, `'postgres'`, …). */
  readonly store: string;
  /** The handle of the key it concerns, when it concerns one key (never for per-user calls). */
  readonly handle: string | undefined;
  /** A summary of what the call resolved (see {@link traceStoreCall}); never a record or key. */
  result?: boolean | number | undefined;
  /** Why it rejected. */
  error?: unknown;
  /** Free for subscribers. */
  [field: string]: unknown;
}

/**
 * A lifecycle event as published on {@link EVENT_CHANNEL}: the `onEvent` events without user ids
 * (`create` says `authenticated` instead; `revoke` and `evict` keep only the handle), plus
 * `load` (every request that read its session) and `lock-wait` (a lock taken after waiting),
 * which are published only here. Every message names the `store`.
 */
export type DiagnosticEvent = { readonly store: string } & (
  | { type: 'load'; handle: string | undefined; found: boolean }
  | { type: 'lock-wait'; handle: string; waited: number }
  | WithoutUserId<SessionEvent>
);

/**
 * An `onEvent` event as the channel carries it: `create` says `authenticated` instead of the
 * user id, every other event drops its `userId` (derived, so a new `SessionEvent` is published
 * without a second declaration here).
 */
type WithoutUserId<E extends SessionEvent> = E extends { type: 'create' }
  ? { type: 'create'; handle: string; authenticated: boolean }
  : Omit<E, 'userId'>;

const events = channel(EVENT_CHANNEL);
const storeCalls = tracingChannel<unknown, StoreCallMessage>(STORE_CHANNEL);

/** `true` when someone listens on {@link EVENT_CHANNEL}. @internal */
export function hasEventSubscribers(): boolean {
  return events.hasSubscribers;
}

/** Publish a diagnostics-only event (`load`, `lock-wait`); callers check subscribers first. @internal */
export function publishEvent(event: DiagnosticEvent): void {
  events.publish(event);
}

/** Publish an `onEvent` event on {@link EVENT_CHANNEL}, without its user id. @internal */
export function publishSessionEvent(store: string, event: SessionEvent): void {
  if (!events.hasSubscribers) return;
  let message: DiagnosticEvent;
  switch (event.type) {
    case 'create':
      message = {
        store,
        type: 'create',
        handle: event.handle,
        authenticated: event.userId !== null,
      };
      break;
    case 'revoke':
    case 'evict':
      message = { store, type: event.type, handle: event.handle };
      break;
    default:
      message = { store, ...event };
  }
  events.publish(message);
}

// `TracingChannel#hasSubscribers` only exists from Node 20.13; its five channels say the same.
/** `true` when someone listens on any channel of {@link STORE_CHANNEL}. @internal */
export function hasStoreSubscribers(): boolean {
  return (
    storeCalls.start.hasSubscribers ||
    storeCalls.end.hasSubscribers ||
    storeCalls.asyncStart.hasSubscribers ||
    storeCalls.asyncEnd.hasSubscribers ||
    storeCalls.error.hasSubscribers
  );
}

/**
 * Run `fn` traced on {@link STORE_CHANNEL} with `message`, as `TracingChannel#tracePromise` does
 * (`start` around the call with its bound stores, `end` once it returned, then `error`,
 * `asyncStart`, `asyncEnd` when it settled), except that `result` is only a summary: whether
 * `get` found a record, a boolean or count as returned, the length of a list — never a record
 * or a key. @internal
 */
export function traceStoreCall<T>(message: StoreCallMessage, fn: () => Promise<T>): Promise<T> {
  const { start, end, asyncStart, asyncEnd, error } = storeCalls;
  const settled = (): void => {
    asyncStart.publish(message);
    asyncEnd.publish(message);
  };
  return start.runStores(message, () => {
    let promise: Promise<T>;
    try {
      promise = fn();
    } catch (thrown) {
      message.error = thrown;
      error.publish(message);
      throw thrown;
    } finally {
      end.publish(message);
    }
    return promise.then(
      (result) => {
        message.result = summary(message.operation, result);
        settled();
        return result;
      },
      (failure: unknown) => {
        message.error = failure;
        error.publish(message);
        settled();
        throw failure;
      },
    );
  });
}

function summary(operation: StoreOperation, result: unknown): boolean | number | undefined {
  if (operation === 'get') return result !== undefined;
  if (typeof result === 'boolean' || typeof result === 'number') return result;
  return Array.isArray(result) ? result.length : undefined;
}

/** The process-warning codes already emitted by {@link warnOnce}. */
const WARNED = new Set<string>();

/**
 * Emit a process warning (`process.emitWarning`, with `code`) the first time `code` is seen in
 * this process; later calls with the same code do nothing. For misuse and risky configurations a
 * developer should hear about once, not per request. @internal
 */
export function warnOnce(code: string, message: string): void {
  if (WARNED.has(code)) return;
  WARNED.add(code);
  process.emitWarning(message, { code });
}
