/**
 * Private: the facade's middleware step for one request — skip what express-session skips (a
 * request that already has a session, a disconnected store, a path outside the cookie's), switch
 * an Express request and response to V8's dictionary mode (`adapters/_dictionary.ts`), read
 * the signed cookie (a value verified before costs no HMAC: the memo of `core/verified-ids.ts`),
 * then hand the request to a {@link Lifecycle} (`_lifecycle.ts`): it loads or
 * generates `req.session`, serves the session's methods, and commits at the first header byte
 * while the response is held.
 */

import type { ServerResponse } from 'node:http';
import { toDictionaryMode } from '../adapters/_dictionary.js';
import { holdResponse } from '../adapters/_hold.js';
import type { VerifiedId } from '../core/verified-ids.js';
import { readCookie, type Secret, unsign } from './_cookie.js';
import {
  type FacadeConfig,
  type FacadeRequest,
  Lifecycle,
  type Next,
  unavailable,
} from './_lifecycle.js';

export {
  type ExpressSessionEvent,
  type FacadeConfig,
  type FacadeRequest,
  generateFor,
  type Next,
} from './_lifecycle.js';

/**
 * The longest signed value (`<id>.<signature>`) the memo keeps: ids come from the app's `genid`
 * (express-session's: 32 characters), and a memo of 10 000 entries should not hold megabytes.
 */
const MAX_REMEMBERED = 256;

/** Handle one request: see the module header. */
export function handle(
  config: FacadeConfig,
  req: FacadeRequest,
  res: ServerResponse,
  next: Next,
): void {
  if (req.session) {
    next();
    return;
  }
  if (!config.isReady()) {
    config.emit({ type: 'store-unavailable' });
    if (config.strict) unavailable(res);
    else next();
    return;
  }
  const options = typeof config.cookie === 'function' ? config.cookie(req) : config.cookie;
  if (!pathOf(req).startsWith(options.path || '/')) {
    next();
    return;
  }
  const secrets = config.secrets ?? (req.secret ? [req.secret] : undefined);
  if (secrets === undefined) {
    next(new Error('secret option required for sessions'));
    return;
  }
  toDictionaryMode(req, res);
  req.sessionStore = config.store;
  const cookie = getCookie(req, config, secrets);
  const cookieId = typeof cookie === 'object' ? cookie.id : cookie;
  req.sessionID = cookieId;
  const lifecycle = new Lifecycle(config, req, next, options, secrets, cookieId);
  if (typeof cookie === 'object') {
    // From the memo: the id's store key is known too (the backend's `key`, read by `keyIn`).
    lifecycle.key = cookie.key;
    lifecycle.keyId = cookie.id;
  }
  holdResponse(res, lifecycle);
  if (cookieId === undefined) {
    lifecycle.generate();
    next();
    return;
  }
  config.backend.load(cookieId, lifecycle).then(
    (data) => lifecycle.loaded(data),
    (error: unknown) => lifecycle.loadFailed(res, error),
  );
}

/**
 * The session id the request's cookie carries, or `undefined`: express-session's order — the
 * signed value in the `Cookie` header, else one cookie-parser already unsigned, else one it left
 * signed. A header value signed by the middleware's own secrets goes through its memo of verified
 * values (`core/verified-ids.ts`), which also answers the id's store key (`Backend.key`).
 */
function getCookie(
  req: FacadeRequest,
  config: FacadeConfig,
  secrets: readonly Secret[],
): VerifiedId | string | undefined {
  const name = config.name;
  const header = req.headers.cookie;
  let value: string | undefined;
  const raw = readCookie(Array.isArray(header) ? header.join('; ') : header, name);
  if (raw?.startsWith('s:')) {
    const signed = raw.slice(2);
    const memo = config.verified;
    if (memo === undefined || signed.length > MAX_REMEMBERED) {
      value = unsign(signed, secrets) || undefined;
    } else {
      const dot = signed.lastIndexOf('.');
      const found = memo.find(signed, dot);
      if (found !== undefined) return found;
      const id = unsign(signed, secrets);
      if (id) return memo.remember(signed, id, false, config.backend.key(id));
    }
  }
  if (!value && typeof req.signedCookies?.[name] === 'string')
    value = req.signedCookies[name] as string;
  const parsed = req.cookies?.[name];
  if (!value && typeof parsed === 'string' && parsed.startsWith('s:')) {
    value = unsign(parsed.slice(2), secrets) || undefined;
  }
  return value;
}

function pathOf(req: FacadeRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const end = url.search(/[?#]/);
  return (end === -1 ? url : url.slice(0, end)) || '/';
}
