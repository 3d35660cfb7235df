/**
 * `sessionkit` — a request's own view of its session: the record it works on with its pending ops
 * applied, kept up to date op by op in a {@link Draft}. Reads after writes cost O(path), not a
 * replay of the op log; every write is sized as it is recorded, so one that grows the session
 * past `maxPayloadBytes` fails there with `TooLargeError` instead of at commit (§16).
 *
 * Before the session is loaded, the view is built on the empty placeholder payload: what the ops
 * alone write (an `update`, whose result needs the loaded value, counts as nothing), a lower
 * bound of the final size — so a loop of `flash.add()` fails fast before any load. Once the
 * record is loaded (or the base changes: a flash consumed, a commit), the view is rebuilt on it.
 */

import type { SessionPayload } from './codec.js';
import type { Context } from './context.js';
import { Draft } from './draft.js';
import { applyOps, type SessionOp, WrittenPaths } from './ops.js';
import type { SessionState } from './state.js';

/** The view of one request's session (held on its state). @internal */
export interface RequestView {
  readonly draft: Draft;
  /** What the view was built for: rebuilt when any of these changed. */
  readonly base: SessionState['base'];
  readonly ops: SessionOp[];
  readonly loaded: boolean;
  /** How many ops of `ops` are applied. */
  count: number;
  /** The paths the applied ops write blindly (for read-write conflict detection). */
  readonly written: WrittenPaths;
}

/** No writes: what a request that only reads checks its reads against. @internal */
export const NOTHING_WRITTEN: WrittenPaths = new WrittenPaths();

/**
 * The view of `s`, brought up to date: built anew when its base, op log or load state changed,
 * then the ops it has not applied yet applied. An `update` whose function throws on the loaded
 * data leaves the log, with the error recorded on the op for its caller. @internal
 */
export function viewOf(ctx: Context, s: SessionState): RequestView {
  let view = s.view;
  if (
    view === undefined ||
    view.base !== s.base ||
    view.ops !== s.ops ||
    view.loaded !== s.loaded ||
    view.count > s.ops.length
  ) {
    view = {
      draft: new Draft(s.base, ctx.limits.maxDepth, ctx.limits.maxBytes),
      base: s.base,
      ops: s.ops,
      loaded: s.loaded,
      count: 0,
      written: new WrittenPaths(),
    };
    s.view = view;
  }
  while (view.count < s.ops.length) {
    const op = s.ops[view.count]!;
    try {
      applyTo(view, op, false);
    } catch (error) {
      if (op.kind !== 'update') throw error;
      op.error = error;
      s.ops.splice(view.count, 1);
      continue;
    }
    view.written.add(op);
    view.count++;
  }
  return view;
}

/**
 * Record a write: apply it to the view — which throws `TooLargeError` when it grows the session
 * past the bound, or the error of an `update` function, and then records nothing — and log it
 * for commit. @internal
 */
export function record(ctx: Context, s: SessionState, op: SessionOp): void {
  if (op.kind === 'update' && !s.loaded && s.view === undefined) {
    // Before load an update writes nothing a view could show or size: it is only logged, and
    // applied — its function run, once — when the view is built on the loaded record.
    s.ops.push(op);
    return;
  }
  const view = viewOf(ctx, s);
  applyTo(view, op, true);
  s.ops.push(op);
  view.written.add(op);
  view.count++;
}

/**
 * The payload the request's ops make of its base, for a commit: the view's result when the view
 * stands on this base with every op applied — its `update` functions already ran, once, as they
 * were recorded — else the ops applied anew (after a reload, on the fresh record; an `update`
 * function that throws there fails the commit). @internal
 */
export function payloadOf(ctx: Context, s: SessionState): SessionPayload {
  const view = s.view;
  if (
    view !== undefined &&
    view.base === s.base &&
    view.ops === s.ops &&
    view.loaded === s.loaded &&
    view.count === s.ops.length
  ) {
    return view.draft.result();
  }
  return applyOps(s.base, s.ops, ctx.limits.maxDepth);
}

function applyTo(view: RequestView, op: SessionOp, check: boolean): void {
  // Before load an update's result is unknown: its path counts as written with nothing.
  if (op.kind === 'update' && !view.loaded) {
    view.draft.apply({ kind: 'set', path: op.path, value: undefined }, check);
  } else {
    view.draft.apply(op, check);
  }
}
