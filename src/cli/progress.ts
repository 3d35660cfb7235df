/**
 * `sessionkit` CLI — the progress display of long commands (`prune`, `reseal`): a bar redrawn in
 * place on stderr when stderr is a terminal, and nothing otherwise, so piped or logged output
 * holds only the final result.
 */

import type { Progress } from './args.js';

/** The part of a stream the display writes to (`process.stderr`). */
export interface ProgressStream {
  /** `true` on a terminal. */
  isTTY?: boolean | undefined;
  /** Terminal width, when known. */
  columns?: number | undefined;
  write(text: string): unknown;
}

/** Redraw at most this often, in ms (the last update is always drawn). */
const REDRAW_MS = 100;

/**
 * A progress display on `stream` labelled `label`, or `undefined` when `stream` is not a
 * terminal. Each update rewrites the line (`\r` … erase to end of line); `end()` erases it.
 */
export function terminalProgress(stream: ProgressStream, label: string): Progress | undefined {
  if (stream.isTTY !== true) return undefined;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - drawnAt < REDRAW_MS && (total === undefined || done < total)) return;
      drawnAt = now;
      drawn = true;
      // A pty without a size (script(1), CI) reports 0 columns: draw for 80.
      const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80;
      stream.write(`\r${renderProgress(label, done, total, columns)}\x1b[K`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/**
 * One line of progress: `label [#####-----]  50%  500/1000`, or `label  500` when the total
 * is unknown; the bar shrinks to fit `columns`.
 */
export function renderProgress(
  label: string,
  done: number,
  total: number | undefined,
  columns = 80,
): string {
  if (total === undefined) return `${label}  ${done}`;
  const ratio = total === 0 ? 1 : Math.min(1, done / total);
  const tail = `  ${String(Math.floor(ratio * 100)).padStart(3)}%  ${done}/${total}`;
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const full = Math.round(ratio * width);
  return `${label} [${'#'.repeat(full)}${'-'.repeat(width - full)}]${tail}`;
}
