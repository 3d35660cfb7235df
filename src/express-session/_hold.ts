/**
 * Private: hold a node response at its first header byte. node:http and Express have no async
 * pre-header hook, so `writeHead`, `write`, `end` and `flushHeaders` are wrapped: the first call
 * runs `decide()`; when it returns a promise, that call and every later one are held until the
 * promise settles, then replayed in order (or dropped and `fail` called). Writes while held return
 * `false` and `'drain'` follows the replay, so streams back off.
 */

import type { ServerResponse } from 'node:http';

type Kind = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Call = { kind: Kind; args: unknown[] };
type Method = (...args: unknown[]) => unknown;

/**
 * Wrap `res` so that `decide` runs once, synchronously, just before the first header byte. If it
 * returns `undefined` the response goes on at once; if it returns a promise the response waits
 * for it: resolved → replayed; rejected → `fail(error)` with the response untouched and unwrapped.
 */
export function holdFirstByte(
  res: ServerResponse,
  decide: () => Promise<void> | undefined,
  fail: (error: unknown) => void,
): void {
  const original: Record<Kind, Method> = {
    writeHead: res.writeHead as Method,
    write: res.write as Method,
    end: res.end as Method,
    flushHeaders: res.flushHeaders as Method,
  };
  const held: Call[] = [];
  let phase: 'open' | 'holding' | 'done' = 'open';
  let needsDrain = false;

  const restore = (): void => {
    res.writeHead = original.writeHead as typeof res.writeHead;
    res.write = original.write as typeof res.write;
    res.end = original.end as typeof res.end;
    res.flushHeaders = original.flushHeaders as typeof res.flushHeaders;
  };

  const wrap =
    (kind: Kind) =>
    (...args: unknown[]): unknown => {
      if (phase === 'open') {
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
}
