/**
 * The demo's counter API and the numbers behind the dashboard's "race" button.
 *
 * The button (see `race-script.ts`) fires 100 parallel `POST /api/counter` on one session. Each
 * request reads the counter, adds one and commits; when another request committed first, the
 * core's compare-and-set fails and it replays the request's operations on the fresher record.
 * The core reports that in its `commit` event (`attempts` > 1: one lost compare-and-set per extra
 * attempt). {@link createReplayTally} attributes those events to the request whose commit emitted
 * them, so each response can say how many conflicts the core resolved for it — a count only,
 * never a session id or handle.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import type { ExpressSessionMiddleware } from '../../src/adapters/express.js';
import type { SessionEvent } from '../../src/core/manager.js';
import type { DemoData, DemoFlash } from './app.js';
import { isForm } from './request.js';

/**
 * Simulated work between reading and committing the counter, in ms. A real handler awaits a
 * database or an API there; without it the embedded stores answer so fast that parallel requests
 * run one after the other, and the race would show no overlap at all.
 */
export const COUNTER_WORK_MS = 5;

/** Counts the compare-and-set conflicts the core resolved while committing, per request. */
export interface ReplayTally {
  /** The manager's `onEvent` listener: credits `commit` events with `attempts` > 1. */
  onEvent(event: SessionEvent): void;
  /**
   * Run `work` (which commits a session) and return its result with the number of conflicts the
   * core resolved for commits made inside it (0 when none). Concurrent calls never see each
   * other's conflicts: events are attributed through the async context of the commit.
   */
  track<T>(work: () => Promise<T>): Promise<{ result: T; conflictsResolved: number }>;
}

/** A fresh {@link ReplayTally}. Holds no state outside the requests it is tracking. */
export function createReplayTally(): ReplayTally {
  const current = new AsyncLocalStorage<{ replays: number }>();
  return {
    onEvent(event) {
      if (event.type !== 'commit' || event.attempts <= 1) return;
      const tally = current.getStore();
      if (tally !== undefined) tally.replays += event.attempts - 1;
    },
    async track(work) {
      const tally = { replays: 0 };
      const result = await current.run(tally, work);
      return { result, conflictsResolved: tally.replays };
    },
  };
}

/**
 * Mount the counter API:
 *
 * - `GET /api/counter` → `{ counter }` (reads only: never creates or writes a session)
 * - `POST /api/counter` → increments the session's counter with `update()`, waits
 *   {@link COUNTER_WORK_MS}, and commits;
 *   JSON `{ counter, conflictsResolved }` (the counter after this increment, and how many times
 *   this request's commit lost a compare-and-set to a concurrent one and was replayed), or a 303
 *   to `/` for form posts. Anonymous visitors may count too (this creates their session).
 *
 * Must be mounted after the session and CSRF middleware.
 */
export function counterRoutes(
  app: Express,
  sessions: ExpressSessionMiddleware<DemoData, DemoFlash>,
  tally: ReplayTally,
): void {
  app.get('/api/counter', async (req, res) => {
    res.json({ counter: (await sessions.get(req).get('counter')) ?? 0 });
  });

  app.post('/api/counter', async (req, res) => {
    const session = sessions.get(req);
    await session.update('counter', (n) => (n ?? 0) + 1);
    await sleep(COUNTER_WORK_MS);
    // Commit now, so the value returned includes every increment merged before this one.
    const { conflictsResolved } = await tally.track(() => session.commit());
    const counter = (await session.get('counter')) ?? 0;
    if (isForm(req)) res.redirect(303, '/');
    else res.json({ counter, conflictsResolved });
  });
}
