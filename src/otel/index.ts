/**
 * `sessionkit/otel` — OpenTelemetry metrics for sessionkit, fed by its diagnostics channels
 * (`sessionkit:event`, `tracing:sessionkit:store:*`; see `docs/observability.md`).
 *
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { createSessionMetrics } from 'sessionkit/otel';
 *
 * const sessionMetrics = createSessionMetrics({ meter: metrics.getMeter('sessionkit') });
 * // … on shutdown: sessionMetrics.close();
 * ```
 *
 * This module never imports `@opentelemetry/api`: you pass a `Meter` from your own copy (an
 * optional peer dependency, `^1.9.0`), so there is one API instance in the process. It observes
 * every manager of every sessionkit copy in the process (the channels are process-wide).
 * Attributes are the store name, the operation and small enums — never ids, handles, client
 * addresses or data.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type DiagnosticEvent,
  EVENT_CHANNEL,
  STORE_CHANNEL,
  type StoreCallMessage,
} from '../core/diagnostics.js';

export {
  type DiagnosticEvent,
  EVENT_CHANNEL,
  STORE_CHANNEL,
  type StoreCallMessage,
  type StoreOperation,
} from '../core/diagnostics.js';

/** Metric attributes (the shape `@opentelemetry/api` calls `Attributes`, restricted). */
export type MetricAttributes = Record<string, string | number | boolean>;

/** Options of an instrument, as `@opentelemetry/api` takes them. */
export interface InstrumentOptionsLike {
  /** Human-readable description. */
  description?: string;
  /** UCUM unit (`ms`, `{session}`…). */
  unit?: string;
}

/** The part of an OpenTelemetry `Counter` used here. */
export interface CounterLike {
  /** Add a non-negative `value`. */
  add(value: number, attributes?: MetricAttributes): void;
}

/** The part of an OpenTelemetry `Histogram` used here. */
export interface HistogramLike {
  /** Record one `value`. */
  record(value: number, attributes?: MetricAttributes): void;
}

/** The part of an OpenTelemetry `Meter` used here; `metrics.getMeter(name)` satisfies it. */
export interface MeterLike {
  /** Create a monotonic counter. */
  createCounter(name: string, options?: InstrumentOptionsLike): CounterLike;
  /** Create a histogram. */
  createHistogram(name: string, options?: InstrumentOptionsLike): HistogramLike;
}

/** Options of {@link createSessionMetrics}. */
export interface SessionMetricsOptions {
  /** The meter to create the instruments on. Required. */
  meter: MeterLike;
}

/** A running bridge. */
export interface SessionMetrics {
  /** Unsubscribe from the channels; the instruments stay, receiving nothing more. Idempotent. */
  close(): void;
}

/** Every metric {@link createSessionMetrics} creates, by name. */
export const SESSION_METRICS: Readonly<Record<string, InstrumentOptionsLike>> = Object.freeze({
  'sessionkit.session.loads': {
    unit: '{load}',
    description: 'Requests that loaded their session; attribute `found`.',
  },
  'sessionkit.session.commits': {
    unit: '{commit}',
    description: 'Session writes that landed; attribute `kind` (create, update, regenerate).',
  },
  'sessionkit.session.conflicts': {
    unit: '{conflict}',
    description: 'Commits refused as conflicts; attribute `reason`.',
  },
  'sessionkit.session.merge_retries': {
    unit: '{retry}',
    description: 'Extra compare-and-set rounds merge commits needed.',
  },
  'sessionkit.lock.waits': { unit: '{wait}', description: 'Lock-mode locks taken after waiting.' },
  'sessionkit.lock.wait.duration': {
    unit: 'ms',
    description: 'How long a lock taken after waiting was waited for.',
  },
  'sessionkit.lock.timeouts': {
    unit: '{timeout}',
    description: 'Lock waits that ran out of `lock.wait`.',
  },
  'sessionkit.store.errors': {
    unit: '{error}',
    description: 'Failed store calls (StoreError); attribute `operation`.',
  },
  'sessionkit.store.duration': {
    unit: 'ms',
    description: 'Store call latency; attributes `operation`, `outcome`.',
  },
  'sessionkit.sessions.created': {
    unit: '{session}',
    description: 'Sessions created; attribute `authenticated`.',
  },
  'sessionkit.sessions.destroyed': {
    unit: '{session}',
    description: 'Sessions destroyed (logout, fingerprint policy).',
  },
  'sessionkit.sessions.expired': {
    unit: '{session}',
    description: 'Sessions found expired; attribute `reason` (idle, absolute).',
  },
  'sessionkit.session.brute_force': {
    unit: '{signal}',
    description: 'Client addresses that reached the brute-force threshold (one per window).',
  },
});

const TRACE = {
  start: `tracing:${STORE_CHANNEL}:start`,
  asyncEnd: `tracing:${STORE_CHANNEL}:asyncEnd`,
} as const;

/**
 * Subscribe to sessionkit's diagnostics channels and record {@link SESSION_METRICS} on `meter`.
 * Every data point carries `store` (the store's name). Throws `TypeError` when `meter` lacks
 * `createCounter`/`createHistogram`. Costs nothing until the first session event; `close()`
 * stops it.
 */
export function createSessionMetrics(options: SessionMetricsOptions): SessionMetrics {
  const meter = options?.meter;
  if (typeof meter?.createCounter !== 'function' || typeof meter.createHistogram !== 'function') {
    throw new TypeError('createSessionMetrics: `meter` must be an OpenTelemetry Meter.');
  }
  const counter = (name: string) => meter.createCounter(name, SESSION_METRICS[name]);
  const loads = counter('sessionkit.session.loads');
  const commits = counter('sessionkit.session.commits');
  const conflicts = counter('sessionkit.session.conflicts');
  const retries = counter('sessionkit.session.merge_retries');
  const lockWaits = counter('sessionkit.lock.waits');
  const lockWaited = meter.createHistogram(
    'sessionkit.lock.wait.duration',
    SESSION_METRICS['sessionkit.lock.wait.duration'],
  );
  const lockTimeouts = counter('sessionkit.lock.timeouts');
  const storeErrors = counter('sessionkit.store.errors');
  const storeDuration = meter.createHistogram(
    'sessionkit.store.duration',
    SESSION_METRICS['sessionkit.store.duration'],
  );
  const created = counter('sessionkit.sessions.created');
  const destroyed = counter('sessionkit.sessions.destroyed');
  const expired = counter('sessionkit.sessions.expired');
  const bruteForce = counter('sessionkit.session.brute_force');

  function onEvent(message: unknown): void {
    const event = message as DiagnosticEvent;
    const store = { store: event.store };
    switch (event.type) {
      case 'load':
        loads.add(1, { ...store, found: event.found });
        break;
      case 'commit':
        commits.add(1, { ...store, kind: 'update' });
        if (event.attempts > 1) retries.add(event.attempts - 1, store);
        break;
      case 'regenerate':
        commits.add(1, { ...store, kind: 'regenerate' });
        break;
      case 'conflict':
        conflicts.add(1, { ...store, reason: event.reason });
        break;
      case 'lock-wait':
        lockWaits.add(1, store);
        lockWaited.record(event.waited, store);
        break;
      case 'lock-timeout':
        lockTimeouts.add(1, store);
        break;
      case 'store-error':
        storeErrors.add(1, { ...store, operation: event.operation });
        break;
      case 'create':
        commits.add(1, { ...store, kind: 'create' });
        created.add(1, { ...store, authenticated: event.authenticated });
        break;
      case 'destroy':
        destroyed.add(1, store);
        break;
      case 'expire':
        expired.add(1, { ...store, reason: event.reason });
        break;
      case 'brute-force':
        // The address stays out of the attributes: unbounded cardinality (and personal data).
        bruteForce.add(1, store);
        break;
    }
  }
  // One call's start time, keyed by its message (the same object reaches asyncEnd).
  const started = new WeakMap<object, number>();
  function onStart(message: unknown): void {
    started.set(message as object, performance.now());
  }
  function onEnd(message: unknown): void {
    const call = message as StoreCallMessage;
    const start = started.get(call);
    if (start === undefined) return; // began before this bridge subscribed
    storeDuration.record(performance.now() - start, {
      store: call.store,
      operation: call.operation,
      outcome: call.error === undefined ? 'ok' : 'error',
    });
  }

  subscribe(EVENT_CHANNEL, onEvent);
  subscribe(TRACE.start, onStart);
  subscribe(TRACE.asyncEnd, onEnd);
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      unsubscribe(EVENT_CHANNEL, onEvent);
      unsubscribe(TRACE.start, onStart);
      unsubscribe(TRACE.asyncEnd, onEnd);
    },
  };
}
