/**
 * The demo's HTML helpers.
 */

import { describe, expect, it } from 'vitest';
import { checkCredentials } from './app.js';
import { deviceLabel, escapeHtml, html, raw } from './html.js';

describe('html', () => {
  it('escapes every interpolated value', () => {
    const evil = `<img src=x onerror="alert('1')">&\``;
    expect(escapeHtml(evil)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;',
    );
    expect(html`<p title="${evil}">${evil}</p>`.toString()).toBe(
      `<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`,
    );
  });

  it('nests fragments and arrays without double escaping; skips null, undefined and false', () => {
    const items = ['a&b', '<c>'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.toString()).toBe(
      '<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>0',
    );
    expect(html`${raw('<b>')}`.toString()).toBe('<b>');
  });
});

describe('deviceLabel', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      'Headless Chrome on Linux',
    ],
    ['curl/8.5.0', 'curl'],
    ['something else', 'Unknown browser'],
    ['', 'Unknown device'],
    [null, 'Unknown device'],
  ])('%s → %s', (ua, label) => {
    expect(deviceLabel(ua)).toBe(label);
  });
});

describe('checkCredentials', () => {
  it('accepts the demo accounts with the demo password only', () => {
    expect(checkCredentials('alice', 'demo-password')).toBe('alice');
    expect(checkCredentials('bob', 'demo-password')).toBe('bob');
    expect(checkCredentials('alice', 'demo-password ')).toBeNull();
    expect(checkCredentials('alice', '')).toBeNull();
    expect(checkCredentials('carol', 'demo-password')).toBeNull();
    expect(checkCredentials('__proto__', 'demo-password')).toBeNull();
    expect(checkCredentials(['alice'], 'demo-password')).toBeNull();
    expect(checkCredentials('alice', { toString: () => 'demo-password' })).toBeNull();
    expect(checkCredentials('alice', 'x'.repeat(10_000))).toBeNull();
  });
});
