/**
 * `sessionkit` — the write-on-demand hybrid (`sessionkit/stores/hybrid`): a session stays sealed in
 * the cookie (the stateless side, `stateless.ts`) while it is small and anonymous, and moves to the
 * server-side store — for good — when it signs in, outgrows the cookie, or the app asks for it
 * (`session.moveServerSide()`). After the move the cookie holds only the signed id, and everything
 * is the server-side lifecycle's (`lifecycle.ts`, `writes.ts`).
 *
 * Which side holds a session is recorded by the token's own form, each authenticated under its
 * own key: a sealed token (AES-GCM under the `hybrid-seal` key, purpose in the AAD) carries the
 * data; a signed id (HMAC under `cookie-sign`) names a record. A move denylists the stateless
 * session id until its `exp`, so a replayed copy of any of its sealed tokens is refused: reading a
 * stateless session costs that one small store read (docs/stateless.md, "The hybrid").
 */

import type { PresentedCookie } from './chunks.js';
import type { Context } from './context.js';
import { isSessionError } from './errors.js';
import { hashSessionId, SESSION_ID_LENGTH } from './keys.js';
import type { SessionOp } from './ops.js';
import { deny } from './revocation.js';
import type { SessionState } from './state.js';
import { write } from './writes.js';

/** Length of a signed id, `<43-character id>.<43-character signature>`. */
const SIGNED_ID_LENGTH = SESSION_ID_LENGTH * 2 + 1;

/**
 * The presented tokens split by form, without crypto: signed ids (`<id>.<signature>`: one dot,
 * after the id) and the rest, sealed candidates (a sealed token has two dots, so no value is
 * both). Each is then authenticated by its own side. @internal
 */
export function splitTokens(tokens: readonly string[]): {
  signed: string[];
  sealed: string[];
} {
  const signed: string[] = [];
  const sealed: string[] = [];
  for (const token of tokens) {
    if (isSignedShape(token)) signed.push(token);
    else sealed.push(token);
  }
  return { signed, sealed };
}

/**
 * The candidate tokens of a hybrid request's `Cookie` header: a signed id counts only in the
 * `name` cookie itself — chunks joined into one are a sealed candidate or nothing (a signed id
 * spread over `name.0`… is dropped). No crypto. @internal
 */
export function hybridCandidates(presented: PresentedCookie): readonly string[] {
  const { tokens, joined } = presented;
  return joined && isSignedShape(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
}

function isSignedShape(token: string): boolean {
  return token.length === SIGNED_ID_LENGTH && token.indexOf('.') === SESSION_ID_LENGTH;
}

/**
 * `true` when the request asks something of its stateless session that only the server side can
 * give: a sign-in (a session with a user is always server-side), `moveServerSide()`, or a write in
 * lock mode (a sealed cookie has nothing to lock: the session moves, so that the requests after
 * this one are serialized). A session destroyed in this request moves nowhere. @internal
 */
export function mustMove(s: SessionState): boolean {
  if (s.destroyed) return false;
  return s.sealed!.move || (s.mode === 'lock' && s.ops.length > 0) || s.ops.some(signsIn);
}

function signsIn(op: SessionOp): boolean {
  return op.kind === 'meta' && typeof op.patch.userId === 'string';
}

/**
 * `true` for the error of a session that does not fit its cookie (or token header): it moves
 * server-side instead. (Past `maxPayloadBytes` the server-side write refuses it the same way.)
 * @internal
 */
export function outgrewCookie(error: unknown): boolean {
  return isSessionError(error, 'ERR_SESSION_TOO_LARGE');
}

/**
 * Move the request's stateless session to the server-side store: write it (its data, with this
 * request's writes applied) as a new record under a new id — the server-side write, with its
 * per-user limit and revocation generation when it signs in — then denylist the stateless session
 * id until its `exp`, so no copy of its sealed token opens again. The request is server-side from
 * here on: `end` issues the signed id. Rejects like `write` (`StoreError`, `SessionLimitError`,
 * `TooLargeError` past `maxPayloadBytes`…); a failed denylist write rejects with `StoreError`
 * after the record was written (it expires unused, and the client keeps its sealed token).
 * @internal
 */
export async function moveServerSide(ctx: Context, s: SessionState): Promise<void> {
  const { exp } = s.sealed!;
  const opened = s.clientId;
  s.sealed = undefined;
  s.id = null;
  s.version = 0;
  s.expiresAt = 0;
  await write(ctx, s);
  if (opened !== null) await deny(ctx, hashSessionId(opened), exp);
}
