/**
 * Private: hold a node response at its first header byte. node:http and Express have no async
 * pre-header hook, so `writeHead`, `write`, `end` and `flushHeaders` are wrapped: the first call
 * runs `decide()`; when it returns a promise, that call and every later one are held until the
 * promise settles, then replayed in order (or dropped and `fail` called). Writes while held return
 * `false` and `'drain'` follows the replay, so streams back off. While held, the response acts as
 * if its headers were sent: `setHeader`, `appendHeader` and `removeHeader` throw Node's
 * `ERR_HTTP_HEADERS_SENT`, as they would without the hold (a handler that sets a header after
 * `res.end()` fails the same way with and without the facade).
 */

import type { ServerResponse } from 'node:http';

type Kind = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Call = { kind: Kind; args: unknown[] };
type Method = (...args: unknown[]) => unknown;
type HeaderKind = 'setHeader' | 'appendHeader' | 'removeHeader';
/** The verb in Node's message for each guarded header method. */
const VERB: Record<HeaderKind, string> = {
  setHeader: 'set',
  appendHeader: 'append',
  removeHeader: 'remove',
};

/** What {@link holdFirstByte} gives back to its caller. */
export interface Hold {
  /** Run `fn` with the header methods unguarded (the holder's own `Set-Cookie` while held). */
  withHeaders(fn: () => void): void;
}

/**
 * Wrap `res` so that `decide` runs once, synchronously, just before the first header byte. If it
 * returns `undefined` the response goes on at once; if it returns a promise the response waits
 * for it: resolved → replayed; rejected → `fail(error)` with the response untouched and unwrapped.
 */
export function holdFirstByte(
  res: ServerResponse,
  decide: () => Promise<void> | undefined,
  fail: (error: unknown) => void,
): Hold {
  const original: Record<Kind, Method> = {
    writeHead: res.writeHead as Method,
    write: res.write as Method,
    end: res.end as Method,
    flushHeaders: res.flushHeaders as Method,
  };
  const held: Call[] = [];
  let phase: 'open' | 'holding' | 'done' = 'open';
  let needsDrain = false;
  let bypass = false;
  const headerMethods = {} as Record<HeaderKind, Method | undefined>;

  const guard = (): void => {
    for (const kind of Object.keys(VERB) as HeaderKind[]) {
      const method = res[kind] as Method | undefined;
      if (typeof method !== 'function') continue;
      headerMethods[kind] = method;
      res[kind] = function guarded(this: ServerResponse, ...args: unknown[]): unknown {
        if (phase === 'holding' && !bypass) throw headersSent(VERB[kind]);
        return method.apply(this, args);
      } as never;
    }
  };
  const restore = (): void => {
    res.writeHead = original.writeHead as typeof res.writeHead;
    res.write = original.write as typeof res.write;
    res.end = original.end as typeof res.end;
    res.flushHeaders = original.flushHeaders as typeof res.flushHeaders;
    for (const kind of Object.keys(headerMethods) as HeaderKind[]) {
      res[kind] = headerMethods[kind] as never;
    }
  };

  const wrap =
    (kind: Kind) =>
    (...args: unknown[]): unknown => {
      if (phase === 'open') {
        // Headers given to writeHead are set first, so the holder's own Set-Cookie is added to
        // them instead of being replaced by them (as express-session's on-headers does).
        if (kind === 'writeHead') args = setWriteHeadHeaders(res, args);
        let work: Promise<void> | undefined;
        try {
          work = decide();
        } catch (error) {
          phase = 'done';
          restore();
          fail(error);
          return kind === 'write' ? false : kind === 'flushHeaders' ? undefined : res;
        }
        if (work === undefined) {
          phase = 'done';
          restore();
          return original[kind].apply(res, args);
        }
        phase = 'holding';
        guard();
        work.then(
          () => {
            phase = 'done';
            restore();
            for (const call of held) original[call.kind].apply(res, call.args);
            if (needsDrain) res.emit('drain');
          },
          (error: unknown) => {
            phase = 'done';
            restore();
            fail(error);
          },
        );
      }
      held.push({ kind, args });
      if (kind === 'write') {
        needsDrain = true;
        return false;
      }
      return kind === 'flushHeaders' ? undefined : res;
    };

  res.writeHead = wrap('writeHead') as typeof res.writeHead;
  res.write = wrap('write') as typeof res.write;
  res.end = wrap('end') as typeof res.end;
  res.flushHeaders = wrap('flushHeaders') as typeof res.flushHeaders;
  return {
    withHeaders(fn) {
      bypass = true;
      try {
        fn();
      } finally {
        bypass = false;
      }
    },
  };
}

/**
 * Set the headers of a `writeHead(status, [reason], headers)` call on `res` and return the call's
 * arguments without them. Headers come as an object or, as Node also takes them, a flat
 * `[name, value, name, value, …]` array (repeated names are kept as several values).
 */
function setWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const at = typeof args[1] === 'string' ? 2 : 1;
  const headers = args[at];
  if (typeof headers !== 'object' || headers === null) return args;
  if (Array.isArray(headers)) {
    const grouped = new Map<string, unknown[]>();
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = String(headers[i]);
      grouped.set(name, [...(grouped.get(name) ?? []), headers[i + 1]]);
    }
    for (const [name, values] of grouped) {
      res.setHeader(name, values.length === 1 ? String(values[0]) : values.map(String));
    }
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) res.setHeader(name, value as string | string[]);
    }
  }
  return args.slice(0, at);
}

/** Node's own error for a header change after the headers went out. */
function headersSent(verb: string): Error {
  const error = new Error(`Cannot ${verb} headers after they are sent to the client`);
  return Object.assign(error, { code: 'ERR_HTTP_HEADERS_SENT' });
}
