/**
 * Private: `req.flash()` for the express-session facade, with connect-flash's API and storage, so
 * an app using connect-flash switches by changing one import and keeps the messages already
 * stored (`req.session.flash = { type: [messages] }`, as connect-flash keeps them).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { format } from 'node:util';

/** Options of {@link flash}. */
export interface FlashOptions {
  /** Replace a `req.flash` some other middleware already put there. @default false */
  unsafe?: boolean | undefined;
}

/**
 * `req.flash`: `(type, message, ...args)` adds a message (printf-style `%s`/`%d` with `args`, or
 * every element of an array) and returns the number of messages of that type; `(type)` returns
 * them and removes them; `()` returns every type's messages and removes them all.
 */
export interface Flash {
  (): Record<string, string[]>;
  (type: string): string[];
  (type: string, message: string | string[], ...args: unknown[]): number;
}

type FlashRequest = IncomingMessage & {
  flash?: Flash;
  session?: { flash?: Record<string, string[]> } | null;
};

/**
 * The connect-flash middleware: `app.use(flash())` after `session()`. `req.flash` throws
 * `Error('req.flash() requires sessions')` when the request has no session.
 */
export function flash(
  options: FlashOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  return (req, _res, next) => {
    const r = req as FlashRequest;
    if (r.flash === undefined || options.unsafe === true) r.flash = flashOf(r);
    next();
  };
}

function flashOf(req: FlashRequest): Flash {
  return function flashMessages(type?: string, message?: string | string[], ...args: unknown[]) {
    const session = req.session;
    if (session == null) throw new Error('req.flash() requires sessions');
    session.flash ??= {};
    const all = session.flash;
    if (type === undefined) {
      session.flash = {};
      return all;
    }
    if (message === undefined) {
      const messages = all[type] ?? [];
      delete all[type];
      return messages;
    }
    all[type] ??= [];
    const list = all[type];
    if (Array.isArray(message)) list.push(...message);
    else list.push(args.length > 0 ? format(message, ...args) : message);
    return list.length;
  } as Flash;
}
