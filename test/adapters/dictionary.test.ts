/**
 * The switch of Express's requests and responses to V8's dictionary mode
 * (`src/adapters/_dictionary.ts`), made by the Express adapter and the express-session facade:
 * that it happens where a framework swapped the prototypes on a V8 that then shares no hidden
 * classes (before 13: Node 20, 22) and nowhere else (asked of V8 itself, in a child process with
 * `--allow-natives-syntax`), and that it changes nothing a program can see — the same own keys,
 * in the same order, with the same descriptors.
 */

import { execFile } from 'node:child_process';
import http, { type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { UNSHARED_AFTER_SET_PROTOTYPE } from '../../src/adapters/_dictionary.js';
import { type AdapterServer, listen, send } from './contract.js';
import { EXPRESSES, SESSION_MIDDLEWARES, type Seen } from './dictionary-probe.js';

const servers: AdapterServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe('Express requests and responses in dictionary mode', () => {
  it('V8: the session middlewares switch them on Express 4 and 5 where every request gets hidden classes of its own (V8 before 13); plain node:http, and Express on V8 13, are left alone', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--allow-natives-syntax',
        '--import',
        'tsx',
        join(import.meta.dirname, 'dictionary-probe.ts'),
      ],
      { cwd: join(import.meta.dirname, '..', '..'), timeout: 60_000 },
    );
    const seen = JSON.parse(stdout) as Record<string, Seen>;
    const fast = { requestFast: [true, true], responseFast: [true, true] };
    const dictionary = { requestFast: [false, false], responseFast: [false, false] };
    for (const flavour of ['Express 5', 'Express 4']) {
      // Why the switch exists: bare Express leaves every request with hidden classes of its own —
      // up to V8 12 (Node 20, 22); V8 13 (Node 24) shares them, and the switch stays off there.
      expect(seen[`${flavour}, bare`]).toEqual({
        ...fast,
        requestsShareMap: !UNSHARED_AFTER_SET_PROTOTYPE,
        responsesShareMap: !UNSHARED_AFTER_SET_PROTOTYPE,
      });
      // Dictionary-mode objects of one prototype usually share V8's cached normalized hidden
      // class too, but that cache may be cleared by any collection: not asserted.
      for (const middleware of ['adapter', 'facade']) {
        expect(seen[`${flavour}, ${middleware}`]).toMatchObject(
          UNSHARED_AFTER_SET_PROTOTYPE ? dictionary : fast,
        );
      }
    }
    expect(seen['node:http, facade']).toEqual({
      ...fast,
      requestsShareMap: true,
      responsesShareMap: true,
    });
  }, 90_000);

  type Snapshot = [PropertyKey, PropertyDescriptor | undefined][];

  /** Own keys in order, with descriptors (values of objects compared by identity). */
  function snapshot(target: object): Snapshot {
    return Reflect.ownKeys(target).map((key) => [
      key,
      Reflect.getOwnPropertyDescriptor(target, key),
    ]);
  }

  for (const [flavour, factory] of EXPRESSES) {
    for (const [name, make] of Object.entries(SESSION_MIDDLEWARES)) {
      it(`${flavour}, ${name}: every key the request and response had is still there, in order, with its descriptor; nothing of the switch is left`, async () => {
        const before: Snapshot[] = [];
        const after: Snapshot[] = [];
        let added: PropertyKey[] = [];
        const app = factory();
        app.use((req, res, next) => {
          before.push(snapshot(req), snapshot(res));
          next();
        });
        app.use(make() as never);
        app.get('/', (req: IncomingMessage, res) => {
          after.push(snapshot(req), snapshot(res));
          added = [...Reflect.ownKeys(req), ...Reflect.ownKeys(res)];
          res.end('ok');
        });
        const server = await listen(http.createServer(app));
        servers.push(server);
        expect((await send(server.url, 'GET', '/')).status).toBe(200);
        for (const [i, was] of before.entries()) {
          const now = after[i] ?? [];
          const kept = now.filter(([key]) => was.some(([k]) => k === key));
          // Express's router resets `next`, `baseUrl`, `params` per layer: compare all but those.
          const stable = (s: Snapshot) =>
            s.filter(([key]) => !['next', 'baseUrl', 'params', 'route'].includes(key as string));
          expect(stable(kept)).toEqual(stable(was));
        }
        expect(added.map(String).filter((key) => key.includes('dictionary'))).toEqual([]);
      });
    }
  }
});
