/**
 * The demo's server-rendered pages. Every interpolated value goes through the escaping `html`
 * tag; the only inline CSS is {@link STYLE} and the only script is the race button's
 * ({@link RACE_SCRIPT}), each allowed by its hash in the Content-Security-Policy.
 */

import { createHash } from 'node:crypto';
import type { SessionInfo } from '../../src/core/manager.js';
import { deviceLabel, html, raw, type SafeHtml } from './html.js';
import { COUNTER_WORK_MS } from './race.js';
import { RACE_RUNNERS, RACE_SCRIPT } from './race-script.js';

/** How the demo's store keeps sessions (see `storeMode` in `app.ts`). */
export interface StoreMode {
  /** Sessions travel in a sealed cookie (`SESSION_STORE=cookie:…`): no compare-and-set. */
  readonly stateless: boolean;
  /** Sessions can be listed and revoked: server-side, or sealed with a revocation store. */
  readonly revocable: boolean;
}

/** Why "your devices" is missing with sealed cookies and no revocation store. */
export const NO_DEVICES =
  'Stateless sessions without a revocation store: nothing on the server lists or ends them. Start the demo with SESSION_STORE=cookie:<store-url> (e.g. cookie:memory:) to get this page.';

/** Flash messages by kind, as shown at the top of a page. */
export interface Messages {
  success: readonly string[];
  info: readonly string[];
  error: readonly string[];
}

/** The demo's stylesheet (inline, hashed into the CSP). */
export const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;background:#f3f4f6}
body{max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:1rem;margin-bottom:1rem}
h1{font-size:1.4rem;margin:0}h1 span{color:#2563eb}h2{font-size:1.1rem;margin:0 0 .5rem}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:.6rem;padding:1rem 1.25rem;margin:1rem 0;box-shadow:0 1px 2px #0000000d}
.flash{padding:.6rem 1rem;border-radius:.5rem;margin:.5rem 0}
.success{background:#d1fae5;color:#065f46}.info{background:#dbeafe;color:#1e3a8a}.error{background:#fee2e2;color:#991b1b}
button{font:inherit;padding:.35rem .9rem;border-radius:.4rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;cursor:pointer}
button:disabled{opacity:.6;cursor:progress}button.secondary{background:#fff;color:#1f2937;border-color:#d1d5db}button.danger{background:#fff;color:#b91c1c;border-color:#fca5a5}
label{display:block;margin:.5rem 0;font-weight:500}
input{display:block;font:inherit;padding:.4rem .6rem;border:1px solid #d1d5db;border-radius:.4rem;width:100%;box-sizing:border-box;margin-top:.2rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid #e5e7eb}th{color:#6b7280;font-weight:500}
.counter{font-size:2.6rem;font-weight:700;margin:0 0 .5rem}
.badge{background:#16a34a;color:#fff;border-radius:1rem;padding:.05rem .55rem;font-size:.8rem;white-space:nowrap}td.when{white-space:nowrap}
.muted{color:#6b7280;font-size:.9rem}form.inline{display:inline;margin:0}form.spaced{margin-top:1rem}
code{background:#e5e7eb;padding:0 .3rem;border-radius:.25rem}a{color:#2563eb}td{overflow-wrap:anywhere}
@media (max-width:40rem){#sessions thead{display:none}#sessions tr{display:block;padding:.5rem 0;border-bottom:1px solid #e5e7eb}
#sessions td{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.15rem 0}#sessions td[data-label]::before{content:attr(data-label);color:#6b7280}}
`;

/**
 * `Content-Security-Policy` of every demo response: nothing but the stylesheet above, the race
 * script, and that script's fetches to this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${sha256Base64(STYLE)}'`,
  `script-src 'sha256-${sha256Base64(RACE_SCRIPT)}'`,
  "connect-src 'self'",
  'img-src data:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The demo accounts' shared password, shown on the login page. */
export const DEMO_PASSWORD = 'demo-password';

/** The demo accounts. */
export const DEMO_USERS: readonly string[] = ['alice', 'bob'];

function layout(title: string, header: SafeHtml, body: SafeHtml): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · sessionkit demo</title><link rel="icon" href="data:,">
<style>${raw(STYLE)}</style></head>
<body><header><h1><span>sessionkit</span> demo</h1>${header}</header>${body}</body></html>`}`;
}

function flashes(messages: Messages): SafeHtml[] {
  return (['success', 'info', 'error'] as const).flatMap((kind) =>
    messages[kind].map((text) => html`<p class="flash ${kind}" role="status">${text}</p>`),
  );
}

/** The hidden field that carries the CSRF token in every form (SECURITY.md §17). */
function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

function userBar(user: string, csrfToken: string): SafeHtml {
  return html`<div>Signed in as <strong id="user">${user}</strong>
<form class="inline" method="post" action="/logout">${csrfField(csrfToken)}<button class="secondary" id="logout">Log out</button></form></div>`;
}

/**
 * The login page (anonymous home), optionally with flash messages (e.g. "signed out"), an error
 * and the username typed. The form carries `csrfToken` (the anonymous pre-session's), so a
 * cross-site login is refused too.
 */
export function loginPage(options: {
  csrfToken: string;
  messages?: Messages;
  error?: string;
  username?: string;
}): string {
  const messages = options.messages ?? { success: [], info: [], error: [] };
  const error = [...messages.error, ...(options.error === undefined ? [] : [options.error])];
  return layout(
    'Sign in',
    html``,
    html`${flashes({ ...messages, error })}
<section class="card"><h2>Sign in</h2>
<form id="login-form" method="post" action="/login">${csrfField(options.csrfToken)}
<label>Username <input name="username" autocomplete="username" required value="${options.username ?? ''}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></section>
<section class="card"><h2>Demo accounts</h2>
<p>${DEMO_USERS.map((u, i) => html`${i > 0 ? ' and ' : ''}<code>${u}</code>`)}, password <code>${DEMO_PASSWORD}</code>.</p>
<p class="muted">Sessions live in the store named by <code>SESSION_STORE</code>; the JSON view is at <a href="/api/session">/api/session</a>.</p></section>`,
  );
}

/** The dashboard of a signed-in user; what it says of concurrency and devices depends on `mode`. */
export function dashboardPage(options: {
  user: string;
  counter: number;
  messages: Messages;
  csrfToken: string;
  mode: StoreMode;
}): string {
  const { stateless, revocable } = options.mode;
  return layout(
    'Dashboard',
    userBar(options.user, options.csrfToken),
    html`${flashes(options.messages)}
<section class="card"><h2>Counter</h2>
<p class="counter" id="counter">${options.counter}</p>
<form method="post" action="/api/counter">${csrfField(options.csrfToken)}<button type="submit" id="increment">Increment</button></form>
<p class="muted">${
      stateless
        ? 'Kept in your sealed session cookie with update(): nothing is stored on the server, and a response that changes it carries a new cookie.'
        : html`Kept in your session with <code>update()</code>: parallel requests never lose an increment.`
    }</p></section>
<section class="card" aria-labelledby="race-title"><h2 id="race-title">Race</h2>
<p><button type="button" id="race" data-csrf-token="${options.csrfToken}" data-mode="${stateless ? 'stateless' : 'server'}">Fire ${RACE_RUNNERS} parallel increments</button></p>
<p id="race-result" role="status" aria-live="polite"></p>
<p class="muted" id="race-note">${
      stateless
        ? `Stateless mode: every request starts from the cookie it was sent with, adds one, works ${COUNTER_WORK_MS} ms and answers its own new cookie. There is no record to compare and set, so the browser keeps the last cookie it receives and the other increments are lost — by design (docs/stateless.md, "Concurrency"). A server-side store keeps all of them.`
        : `Each request reads this session, adds one, works ${COUNTER_WORK_MS} ms and writes it back, so they overlap: when another request wrote first, sessionkit replays the increment on the newer session instead of overwriting it. With express-session the last write wins and most of these increments are lost.`
    }</p></section>
<section class="card"><h2>Your devices</h2>
<p>${
      revocable
        ? html`See where you are signed in, and sign other sessions out: <a href="/sessions" id="devices">your devices</a>.`
        : NO_DEVICES
    }</p></section>
<section class="card"><h2>JSON API</h2>
<p class="muted"><a href="/api/session">GET /api/session</a> · <a href="/api/counter">GET /api/counter</a> · <code>POST /api/counter</code> · <code>POST /login</code> with JSON</p></section>
<script>${raw(RACE_SCRIPT)}</script>`,
  );
}

/** "Your devices" when sessions cannot be listed (sealed cookies without a revocation store). */
export function devicesUnavailablePage(options: {
  user: string;
  messages: Messages;
  csrfToken: string;
}): string {
  return layout(
    'Your devices',
    userBar(options.user, options.csrfToken),
    html`${flashes(options.messages)}
<section class="card"><h2>Your devices</h2><p id="no-devices">${NO_DEVICES}</p></section>
<p><a href="/">← Back to the dashboard</a></p>`,
  );
}

/** The "your devices" page. */
export function devicesPage(options: {
  user: string;
  sessions: readonly SessionInfo[];
  messages: Messages;
  csrfToken: string;
}): string {
  const others = options.sessions.filter((s) => !s.current).length;
  // This device first, then the others by last activity (the manager's order).
  const sorted = [...options.sessions].sort((a, b) => Number(b.current) - Number(a.current));
  const rows = sorted.map(
    (s) => html`<tr data-handle="${s.handle}"${s.current ? html` class="current"` : ''}>
<td data-label="Device">${deviceLabel(s.userAgent)}</td><td data-label="IP">${s.ip ?? '—'}</td>
<td class="when" data-label="Signed in (UTC)">${when(s.createdAt)}</td><td class="when" data-label="Last seen (UTC)">${when(s.lastSeenAt)}</td>
<td>${
      s.current
        ? html`<span class="badge">This device</span>`
        : html`<form class="inline" method="post" action="/sessions/revoke">
${csrfField(options.csrfToken)}<input type="hidden" name="handle" value="${s.handle}"><button class="danger">Revoke</button></form>`
    }</td></tr>`,
  );
  return layout(
    'Your devices',
    userBar(options.user, options.csrfToken),
    html`${flashes(options.messages)}
<section class="card"><h2>Your devices</h2>
<table id="sessions"><thead><tr><th>Device</th><th>IP</th><th>Signed in (UTC)</th><th>Last seen (UTC)</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
${
  others > 0
    ? html`<form class="spaced" method="post" action="/sessions/revoke">
${csrfField(options.csrfToken)}<input type="hidden" name="all" value="1"><button class="danger" id="revoke-others">Sign out all other sessions</button></form>`
    : html`<p class="muted">No other sessions.</p>`
}
</section><p><a href="/">← Back to the dashboard</a></p>`,
  );
}

function sha256Base64(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
