/**
 * Preload of `bench/express-measure.ts` (`node --import ./bench/measure-probe.ts …`): lets the
 * driver profile only the requests it measures. On `SIGUSR2` the probe starts what
 * `MEASURE_PROBE` names — `heap`: the sampling heap profiler keeping collected objects (what was
 * allocated, not what survived; one sample per 128 bytes on average), `cpu`: the CPU profiler —
 * and writes `started` on stderr; at exit it writes the profile to `MEASURE_OUT`. Without
 * `MEASURE_PROBE` it does nothing. Not part of `npm run bench`.
 */

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const kind = process.env.MEASURE_PROBE;
const out = process.env.MEASURE_OUT;

if ((kind === 'heap' || kind === 'cpu') && out !== undefined) {
  const inspector = new Session();
  inspector.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    const [domain, method, params] =
      kind === 'heap'
        ? [
            'HeapProfiler',
            'startSampling',
            {
              samplingInterval: 128,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: true,
            },
          ]
        : ['Profiler', 'start', {}];
    inspector.post(`${domain}.enable`, () => {
      inspector.post(`${domain}.${method}`, params, (error) => {
        if (error) throw error;
        started = true;
        process.stderr.write('started\n');
      });
    });
  });
  // A same-thread inspector session answers synchronously, so this completes inside 'exit'.
  process.on('exit', () => {
    if (!started) return;
    const stop = kind === 'heap' ? 'HeapProfiler.stopSampling' : 'Profiler.stop';
    inspector.post(stop, (error, result) => {
      if (error) throw error;
      writeFileSync(out, JSON.stringify((result as { profile: unknown }).profile));
    });
  });
}
