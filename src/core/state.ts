/**
 * `sessionkit` — the state of one request's session, shared by the handler-facing session and
 * the lifecycle. One flat object per request (no nested allocations on the hot path); its fields
 * are grouped below by the module that owns them.
 */

import type { ClientInfo } from './client.js';
import { emptyObject, type SessionPayload } from './codec.js';
import type { Lease } from './locks.js';
import type { SessionOp } from './ops.js';
import type { ConcurrencyMode } from './options.js';
import type { SealedState } from './stateless.js';
import type { RequestView } from './view.js';

/** What the request brought: written once by `begin`, read by everyone. */
export interface RequestState {
  /** The session cookie value(s) presented, unverified (verification happens at load). */
  readonly cookieValues: readonly string[];
  /** Client info of the request, recorded on create and login. */
  readonly client: ClientInfo;
  /** Concurrency mode of this request, resolved once in `begin`. */
  readonly mode: ConcurrencyMode;
}

/** The stored record this request works on — owned by `lifecycle.ts` and `records.ts`. */
export interface RecordState {
  /** Verified id from the cookie whose record existed at load: what the client holds. */
  clientId: string | null;
  /** Raw id of the loaded/persisted record, or `null` for a new, unsaved session. */
  id: string | null;
  /** The id `key` was computed for (a one-entry memo of its store key; see `records.ts`). */
  keyOf: string | null;
  /** `hashSessionId(keyOf)`. */
  key: string | null;
  /** Version of the loaded record; `0` when there is none. */
  version: number;
  /** Expiry of the loaded record (ms), `0` when there is none. */
  expiresAt: number;
  /** The loaded (or last committed) payload. */
  base: SessionPayload;
  loaded: boolean;
  loading: Promise<void> | undefined;
  /** Set when loading failed: the session is unusable and nothing will be written. */
  failed: unknown;
  /** Loaded through a regenerate grace forward: readable, not writable. */
  readOnly: boolean;
  /** Sealed-cookie sessions only (`stateless.ts`): what the cookie store keeps per request. */
  sealed: SealedState | undefined;
}

/** The session lock this request holds (lock mode) — owned by `locks.ts`. */
export interface LockState {
  /** The session lock this request holds, if any. */
  lease: Lease | undefined;
}

/** What the handler did — owned by `session.ts` (and `flash.ts`), consumed at commit. */
export interface HandlerState {
  ops: SessionOp[];
  /** Paths this request read from `base` before writing them, with the value it saw; made on first read. */
  observed: Map<string, unknown> | undefined;
  rotation: 'none' | 'regenerate' | 'invalidate';
  destroyed: boolean;
  /** `Clear-Site-Data` value asked for by `destroy({ clearSiteData })`, sent if the commit succeeds. */
  clearSiteData: string | undefined;
  /** Cookie attribute change pending (persistence toggled, or re-signing under a new secret). */
  cookieDirty: boolean;
  /** The session was read or written at all (drives `Vary` / `Cache-Control`). */
  accessed: boolean;
  /** Called once, synchronously, when `accessed` first turns true (adapters hold the response then). */
  onAccess: (() => void) | undefined;
  /** The client's ip / user agent did not match the session's (fingerprint policy `flag`). */
  flagged: boolean;
  /** `degrade()` was called after an outage: nothing is read, written or sent from now on. */
  degraded: boolean;
  /** `base` with `ops` applied, kept up to date as ops are recorded (`view.ts`); made on first use. */
  view: RequestView | undefined;
}

/** Mutable state of one request's session. @internal */
export interface SessionState extends RequestState, RecordState, LockState, HandlerState {}

// Set by the first load (the stored payload, or a fresh one): untouched requests never pay for
// building a payload.
const UNLOADED: SessionPayload = Object.freeze({
  data: emptyObject(),
  flash: emptyObject(),
  meta: Object.freeze({
    createdAt: 0,
    lastSeenAt: 0,
    absoluteExpiresAt: 0,
    userId: null,
    ip: null,
    userAgent: null,
    persistent: false,
    csrf: null,
    fingerprint: null,
    generation: 0,
  }),
});

/** Create the state of a request's session. @internal */
export function createSessionState(
  cookieValues: readonly string[],
  client: SessionState['client'],
  mode: ConcurrencyMode,
): SessionState {
  return {
    cookieValues,
    client,
    mode,
    clientId: null,
    id: null,
    keyOf: null,
    key: null,
    version: 0,
    expiresAt: 0,
    base: UNLOADED,
    loaded: false,
    loading: undefined,
    failed: undefined,
    readOnly: false,
    sealed: undefined,
    lease: undefined,
    ops: [],
    observed: undefined,
    rotation: 'none',
    destroyed: false,
    clearSiteData: undefined,
    cookieDirty: false,
    accessed: false,
    onAccess: undefined,
    flagged: false,
    degraded: false,
    view: undefined,
  };
}

/** Mark the session used; the first time, tell whoever waits for it (`onAccess`). @internal */
export function markAccessed(s: SessionState): void {
  if (s.accessed) return;
  s.accessed = true;
  const listener = s.onAccess;
  s.onAccess = undefined;
  listener?.();
}
