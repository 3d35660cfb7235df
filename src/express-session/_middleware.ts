/**
 * Private: the facade's middleware step for one request — skip what express-session skips (a
 * request that already has a session, a disconnected store, a path outside the cookie's), read
 * the signed cookie, then hand the request to a {@link Lifecycle} (`_lifecycle.ts`): it loads or
 * generates `req.session`, serves the session's methods, and commits at the first header byte
 * while the response is held.
 */

import type { ServerResponse } from 'node:http';
import { holdResponse } from '../adapters/_hold.js';
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
  req.sessionStore = config.store;
  const cookieId = getCookie(req, config.name, secrets);
  req.sessionID = cookieId;
  const lifecycle = new Lifecycle(config, req, next, options, secrets, cookieId);
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

function getCookie(
  req: FacadeRequest,
  name: string,
  secrets: readonly Secret[],
): string | undefined {
  const header = req.headers.cookie;
  let value: string | undefined;
  const raw = readCookie(Array.isArray(header) ? header.join('; ') : header, name);
  if (raw?.startsWith('s:')) value = unsign(raw.slice(2), secrets) || undefined;
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
