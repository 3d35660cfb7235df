/**
 * Private: the gradual move from a connect store to a sessionkit store ("read old, write new").
 * A session the new store does not have is read from the old connect store; the request then
 * writes it to the new store (even unmodified) with compare-and-set as a new record, and deletes
 * the old record once that write succeeded, so the old record is used at most once. `destroy`
 * (logout, `regenerate`) deletes in both, so a session cannot come back from the old store.
 */

import type { Backend, LoadState } from './_backend.js';
import type { ExpressSessionEvent } from './_lifecycle.js';

/** `next` (native) first, `previous` (a connect store's backend) for what `next` does not have. */
export function migratingBackend(
  next: Backend,
  previous: Backend,
  emit: (event: ExpressSessionEvent) => void,
): Backend {
  const forget = async (id: string): Promise<void> => {
    try {
      await previous.destroy(id, {});
    } catch (error) {
      // The new record is written and read first from now on: a stale old one only lingers
      // until the old store expires it.
      emit({ type: 'store-error', operation: 'migrate-delete', error });
    }
  };
  return {
    native: true,
    key: (id) => next.key(id),
    async load(id, state) {
      const current = await next.load(id, state);
      if (current !== undefined) return current;
      const old = await previous.load(id, {});
      // Another request may have moved it between the two reads: it writes the new record
      // before deleting the old one, so a second look at the new store finds it.
      if (old === undefined) return next.load(id, state);
      // Version 0: "absent" to compare-and-set, so two requests migrating the same session at
      // once create it once and the second merges its changes into the first's record.
      state.version = 0;
      state.snapshot = JSON.stringify(old);
      state.pending = true;
      emit({ type: 'migrated' });
      return old;
    },
    async save(id, session, state: LoadState) {
      const written = await next.save(id, session, state);
      if (state.pending) {
        state.pending = false;
        await forget(id);
      }
      return written;
    },
    touch: (id, session, state) => next.touch(id, session, state),
    async destroy(id, state) {
      await next.destroy(id, state);
      await previous.destroy(id, {});
    },
  };
}
