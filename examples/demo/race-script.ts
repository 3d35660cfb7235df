/**
 * The only script of the demo: the dashboard's "race" button. It is inlined into the page and
 * allowed by its hash in the Content-Security-Policy (`pages.ts`), like the stylesheet.
 *
 * On click it reads the counter (`GET /api/counter`), fires {@link RACE_RUNNERS} parallel
 * `POST /api/counter` (one `Promise.all` of fetches, CSRF token in `x-csrf-token`), reads the
 * counter again and reports how many increments arrived, how far the counter moved, and the sum
 * of the `conflictsResolved` the responses reported. With sealed cookies (`data-mode="stateless"`
 * on the button) it reports instead how many increments were kept: parallel responses each carry
 * a cookie and the browser keeps the last one, so most are lost by design. Plain ES2020, no
 * imports: it runs as is.
 */

/** How many parallel increments one click fires. */
export const RACE_RUNNERS = 100;

/** The script's text (an IIFE; the button carries the CSRF token in `data-csrf-token`). */
export const RACE_SCRIPT = `
(() => {
  const button = document.getElementById('race');
  const output = document.getElementById('race-result');
  const shown = document.getElementById('counter');
  if (button === null || output === null || shown === null) return;
  const runners = ${RACE_RUNNERS};
  const accept = { accept: 'application/json' };
  const read = async () => {
    const res = await fetch('/api/counter', { headers: accept });
    if (!res.ok) throw new Error('GET /api/counter: ' + res.status);
    return (await res.json()).counter;
  };
  const increment = async () => {
    try {
      const headers = { ...accept, 'x-csrf-token': button.dataset.csrfToken };
      const res = await fetch('/api/counter', { method: 'POST', headers });
      return res.ok ? await res.json() : null;
    } catch {
      return null;
    }
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    output.textContent = 'Racing ' + runners + ' requests…';
    try {
      const before = await read();
      const results = await Promise.all(Array.from({ length: runners }, increment));
      const arrived = results.filter((r) => r !== null);
      const conflicts = arrived.reduce((sum, r) => sum + r.conflictsResolved, 0);
      const after = await read();
      shown.textContent = String(after);
      output.textContent =
        button.dataset.mode === 'stateless'
          ? 'Last writer wins in stateless mode: ' + (after - before) + ' of ' + runners +
            ' increments kept (' + arrived.length + ' arrived), the counter went from ' + before +
            ' to ' + after + '. Each response carried its own cookie and the browser kept the last.'
          : arrived.length + ' of ' + runners + ' increments arrived: the counter went from ' +
            before + ' to ' + after + ' (+' + (after - before) + '). The core resolved ' +
            conflicts + ' write conflict' + (conflicts === 1 ? '' : 's') + ' on the way.';
    } catch {
      output.textContent = 'The race could not run: the server did not answer.';
    } finally {
      button.disabled = false;
    }
  });
})();
`;
