/**
 * `sessionkit prune` — delete expired sessions (and orphaned index entries, expired lock rows) of
 * a store, in the store's batches; progress goes to a callback, the count to the caller.
 */

import type { ConfiguredStore } from '../../config/index.js';
import { ConfigError } from '../../core/errors.js';
import type { PruneProgress } from '../../core/store.js';

/** What `prune` did. */
export interface PruneResult {
  /** The store's description (no credentials). */
  store: string;
  /** Expired sessions removed. */
  removed: number;
  /** Wall time, in seconds (one decimal). */
  seconds: number;
}

/**
 * Prune `store`. Throws `ConfigError` for a store without `prune`; rejects with `StoreError`
 * when the backend fails (what was removed until then stays removed).
 */
export async function prune(
  store: ConfiguredStore,
  options: { batchSize?: number; onProgress?: (progress: PruneProgress) => void } = {},
): Promise<PruneResult> {
  if (typeof store.prune !== 'function') {
    throw new ConfigError(`The ${store.description} store cannot prune.`);
  }
  const started = performance.now();
  const removed = await store.prune({
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  return { store: store.description, removed, seconds };
}

/** `Removed 3 expired sessions from sqlite ./s.db in 0.1 s.` */
export function formatPrune({ store, removed, seconds }: PruneResult): string {
  return `Removed ${removed} expired session${removed === 1 ? '' : 's'} from ${store} in ${seconds} s.`;
}
