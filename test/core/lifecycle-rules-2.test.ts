/**
 * More rules of a request's lifecycle (`src/core/lifecycle.ts`), for the survivors of its complete
 * mutation run that `lifecycle-rules.test.ts` left open: `commitEarly` after the session was
 * deleted in the same request, `commitEarly`'s reload failing for a reason other than a vanished
 * session, and a hybrid store's sealed commit failing for a reason other than an outgrown cookie.
 * Real manager, real memory store; the probe store and a failing id generator only inject faults.
 */

import { describe, expect, it } from 'vitest';
import { generateSessionId, hashSessionId } from '../../src/core/keys.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { manager, request } from './helpers.js';

const IP = '127.0.0.1';

/** The id inside a `sid=<id>.<signature>` cookie. */
function idOf(cookie: string): string {
  return cookie.slice(4, 47);
}

/** A manager over a probed memory store, and a session holding the flash `notice: 'hi'`. */
async function flashed() {
  const inner = memoryStore({ sweepInterval: 0 });
  const store = probeStore(inner);
  const m = manager({ store });
  const { cookie } = await request(m, undefined, (s) => s.flash.set('notice', 'hi'));
  return { inner, store, m, cookie: cookie! };
}

describe('commitEarly needs a stored session', () => {
  it('after a destroy committed in the same request, taking the flash the old record held finds nothing and writes nothing', async () => {
    const { inner, store, m, cookie } = await flashed();
    const scope = m.begin({ cookie, ip: IP });
    scope.session.destroy();
    await scope.session.commit();
    store.reset();
    expect(await scope.session.flash.get('notice')).toBeUndefined();
    expect(store.total()).toBe(0);
    expect(await inner.get(hashSessionId(idOf(cookie)))).toBeUndefined();
    await scope.end();
  });
});

describe("commitEarly's reload after a lost race", () => {
  it('a store failure while reloading rejects with the outage, and the flash stays', async () => {
    const { store, m, cookie } = await flashed();
    const slow = m.begin({ cookie, ip: IP });
    expect(await slow.session.get('x')).toBeUndefined();
    await request(m, cookie, (s) => s.set('x', 1)); // bumps the version under the slow request
    store.failing.add('get');
    await expect(slow.session.flash.get('notice')).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE',
      message: 'The memory session store failed during get.',
    });
    store.failing.delete('get');
    await slow.abort();
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBe('hi');
  });
});

describe("a hybrid store's sealed commit", () => {
  it('a failure other than an outgrown cookie rejects as it is: nothing moves server-side', async () => {
    const inner = memoryStore({ sweepInterval: 0 });
    const failure = new Error('no entropy');
    let ids = 0;
    const m = manager({
      store: hybridStore({ store: inner }),
      generateId: () => {
        if (++ids === 1) throw failure;
        return generateSessionId();
      },
    });
    const scope = m.begin({ ip: IP });
    scope.session.set('a', 1);
    await expect(scope.end()).rejects.toBe(failure);
    expect(ids).toBe(1);
    const keys: string[] = [];
    for await (const key of inner.ids!()) keys.push(key);
    expect(keys).toEqual([]);
  });
});
