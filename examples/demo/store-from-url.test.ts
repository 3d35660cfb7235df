/**
 * `SESSION_STORE` parsing and opening.
 */

import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_STORE_URL, openStore, parseStoreUrl, StoreUrlError } from './store-from-url.js';

const CWD = '/srv/app';

describe('parseStoreUrl', () => {
  it('defaults to sqlite:./data/sessions.db when unset or blank', () => {
    expect(DEFAULT_STORE_URL).toBe('sqlite:./data/sessions.db');
    const expected = { kind: 'sqlite', path: '/srv/app/data/sessions.db' };
    expect(parseStoreUrl(undefined, CWD)).toEqual(expected);
    expect(parseStoreUrl('', CWD)).toEqual(expected);
    expect(parseStoreUrl('   ', CWD)).toEqual(expected);
  });

  it.each([
    ['memory:', { kind: 'memory' }],
    ['MEMORY:', { kind: 'memory' }],
    ['memory://', { kind: 'memory' }],
    ['file:./var/sessions', { kind: 'file', dir: '/srv/app/var/sessions' }],
    ['file:/tmp/s', { kind: 'file', dir: '/tmp/s' }],
    ['file:///tmp/s', { kind: 'file', dir: '/tmp/s' }],
    ['sqlite:./data/x.db', { kind: 'sqlite', path: '/srv/app/data/x.db' }],
    ['sqlite://./x.db', { kind: 'sqlite', path: '/srv/app/x.db' }],
    ['sqlite:///var/lib/x.db', { kind: 'sqlite', path: '/var/lib/x.db' }],
    ['sqlite:x.db', { kind: 'sqlite', path: '/srv/app/x.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
  ])('%s', (url, spec) => {
    expect(parseStoreUrl(url, CWD)).toEqual(spec);
  });

  it.each([
    ['redis://127.0.0.1:6379', 'Redis'],
    ['rediss://cache.example:6380', 'Redis'],
    ['postgres://u:p@localhost/db', 'PostgreSQL'],
    ['postgresql://localhost/db', 'PostgreSQL'],
    ['mysql://localhost/db', 'MySQL'],
    ['mariadb://localhost/db', 'MariaDB'],
  ])('%s is refused as not supported yet', (url, product) => {
    expect(() => parseStoreUrl(url, CWD)).toThrow(StoreUrlError);
    expect(() => parseStoreUrl(url, CWD)).toThrow(`${product} is not supported by the demo yet`);
    // The message never echoes the URL (it may hold credentials).
    expect(() => parseStoreUrl(url, CWD)).not.toThrow(/u:p|localhost|127\.0\.0\.1/);
  });

  it.each([
    ['ftp://x', /unknown store "ftp"/],
    ['just-a-path.db', /unknown store "just-a-path\.db"/],
    [':nothing', /unknown store/],
    ['memory:extra', /"memory:"/],
    ['sqlite:', /needs a database path/],
    ['file:', /needs a directory/],
  ])('%s is an error naming the problem', (url, message) => {
    expect(() => parseStoreUrl(url, CWD)).toThrow(message);
    expect(() => parseStoreUrl(url, CWD)).toThrow(/sqlite:|file:|memory:/);
  });
});

describe('openStore', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('opens SQLite in WAL mode, creating the directory and a 0600 file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionkit-demo-url-'));
    const path = join(dir, 'nested', 'sessions.db');
    const opened = openStore(parseStoreUrl(`sqlite:${path}`));
    expect(opened.store.name).toBe('sqlite');
    expect(opened.description).toBe(`sqlite ${path}`);
    await opened.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      check.close();
    }
  });

  it('opens the memory and file stores', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionkit-demo-url-'));
    const memory = openStore(parseStoreUrl('memory:'));
    expect(memory.store.name).toBe('memory');
    await memory.close();
    const file = openStore(parseStoreUrl('file:./sessions', dir));
    expect(file.store.name).toBe('file');
    expect(file.description).toBe(`file ${resolve(dir, 'sessions')}`);
    await file.close();
  });
});
