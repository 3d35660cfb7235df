/**
 * `BENCH_HEAP_SAMPLE=<file>` for the in-process micro-benchmarks (`bench/core.ts`,
 * `bench/sealed-micro.ts`): a sampling heap profile of the measured loop only, through the
 * inspector, that keeps collected objects — what was allocated, not what survived — written as
 * JSON for Chrome DevTools or a script.
 */

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** Stops the sampling {@link startHeapSample} began and writes the profile (no-op when off). */
export type StopHeapSample = () => Promise<void>;

/**
 * Starts sampling allocations every 128 bytes when `BENCH_HEAP_SAMPLE` names a file; the returned
 * function stops and writes it there. Without the variable, nothing is started and stopping does
 * nothing.
 */
export async function startHeapSample(): Promise<StopHeapSample> {
  const file = process.env.BENCH_HEAP_SAMPLE;
  if (file === undefined) return async () => {};
  const inspector = new Session();
  inspector.connect();
  await post(inspector, 'HeapProfiler.startSampling', {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = (await post(inspector, 'HeapProfiler.stopSampling')) as {
      profile: unknown;
    };
    writeFileSync(file, JSON.stringify(profile));
    inspector.disconnect();
  };
}

function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result)));
  });
}
