/**
 * `sessionkit/config` store URLs, parsed without I/O: every scheme, the query parameters each
 * accepts, and errors that name the problem without repeating the URL (it may hold a password).
 */

import { describe, expect, it } from 'vitest';
import { parseStoreUrl } from '../../src/config/_url.js';
import { describeStoreUrl } from '../../src/config/index.js';
import { isSessionError } from '../../src/core/errors.js';

const CWD = '/srv/app';
const parse = (url: string) => parseStoreUrl(url, CWD);

describe('store URLs', () => {
  it.each([
    ['memory:', { kind: 'memory', where: 'memory' }],
    ['MEMORY:', { kind: 'memory', where: 'memory' }],
    ['memory://', { kind: 'memory', where: 'memory' }],
    ['memory:?maxEntries=500', { kind: 'memory', where: 'memory', maxEntries: 500 }],
    ['file:./var/sessions', { kind: 'file', dir: '/srv/app/var/sessions' }],
    ['file:///tmp/s?fsync=false', { kind: 'file', dir: '/tmp/s', fsync: false }],
    ['sqlite:./data/x.db', { kind: 'sqlite', path: '/srv/app/data/x.db', busyTimeout: 5000 }],
    ['sqlite://./x.db', { kind: 'sqlite', path: '/srv/app/x.db' }],
    ['sqlite:///var/lib/x.db?table=s', { kind: 'sqlite', path: '/var/lib/x.db', table: 's' }],
    ['sqlite:x.db?busyTimeout=100', { kind: 'sqlite', path: '/srv/app/x.db', busyTimeout: 100 }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:', where: 'sqlite :memory:' }],
  ])('%s', (url, spec) => {
    expect(parse(url)).toMatchObject(spec);
  });

  it.each([
    [
      'redis://127.0.0.1:6379',
      { topology: 'standalone', tls: false, nodes: [{ host: '127.0.0.1', port: 6379 }] },
    ],
    ['rediss://cache', { tls: true, nodes: [{ host: 'cache', port: 6379 }] }],
    ['valkey://cache:6380/2', { db: 2, where: 'redis cache:6380/2' }],
    [
      'redis://:s%40cret@h?prefix=app:',
      { password: 's@cret', prefix: 'app:', where: 'redis h:6379' },
    ],
    [
      'redis://app:pw@h/0?client=redis',
      { username: 'app', password: 'pw', db: 0, client: 'redis' },
    ],
    [
      'redis://[::1]:7000?connectTimeout=250',
      { nodes: [{ host: '::1', port: 7000 }], connectTimeout: 250 },
    ],
    [
      'redis+sentinel://s1,s2:26380/mymaster/3',
      {
        topology: 'sentinel',
        master: 'mymaster',
        db: 3,
        nodes: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        where: 'redis sentinel s1:26379,s2:26380/mymaster/3',
      },
    ],
    [
      'redis+cluster://:pw@n1:7000,n2:7001',
      { topology: 'cluster', password: 'pw', where: 'redis cluster n1:7000,n2:7001' },
    ],
  ])('%s', (url, spec) => {
    expect(parse(url)).toMatchObject({ kind: 'redis', ...spec });
  });

  it.each([
    [
      'postgres://u:p%2Bq@db/app',
      { kind: 'postgres', host: 'db', port: 5432, user: 'u', password: 'p+q', database: 'app' },
    ],
    [
      'postgresql://db:6543/app?table=s&poolSize=3&connectTimeout=900&ssl=true',
      { kind: 'postgres', table: 's', poolSize: 3, connectTimeout: 900, ssl: true, prepare: true },
    ],
    ['postgres://pgbouncer:6432/app?prepare=false', { kind: 'postgres', prepare: false }],
    ['mysql://root@127.0.0.1/test', { kind: 'mysql', port: 3306, poolSize: 10, ssl: false }],
    ['mariadb://db/app', { kind: 'mysql', where: 'mysql db:3306/app' }],
  ])('%s', (url, spec) => {
    expect(parse(url)).toMatchObject(spec);
  });

  it('parses tiered:<cache>+<persistent>, splitting at the + that starts a URL', () => {
    expect(parse('tiered:redis://127.0.0.1:6379+postgres://u:a+b@db/app')).toMatchObject({
      kind: 'tiered',
      cache: { kind: 'redis', nodes: [{ host: '127.0.0.1', port: 6379 }] },
      persistent: { kind: 'postgres', password: 'a+b', database: 'app' },
      where: 'tiered: redis 127.0.0.1:6379 over postgres db:5432/app',
    });
    expect(parse('tiered:memory:+sqlite:./s.db')).toMatchObject({
      cache: { kind: 'memory' },
      persistent: { kind: 'sqlite', path: '/srv/app/s.db' },
    });
  });

  it('parses cookie: and cookie:<revocation-store-url>', () => {
    expect(parse('cookie:')).toEqual({ kind: 'cookie', where: 'cookie' });
    expect(parse('cookie:redis://:pw@cache:6380?prefix=rev:')).toMatchObject({
      kind: 'cookie',
      where: 'cookie (revocation: redis cache:6380)',
      revocation: { kind: 'redis', password: 'pw', prefix: 'rev:' },
    });
    expect(parse('cookie:sqlite:./rev.db')).toMatchObject({
      revocation: { kind: 'sqlite', path: '/srv/app/rev.db' },
    });
  });

  it('parses hybrid:<store-url>, over a plain or a tiered store', () => {
    expect(parse('hybrid:redis://:pw@cache:6380?prefix=s:')).toMatchObject({
      kind: 'hybrid',
      where: 'hybrid over redis cache:6380',
      store: { kind: 'redis', password: 'pw', prefix: 's:' },
    });
    expect(parse('hybrid:tiered:memory:+sqlite:./s.db')).toMatchObject({
      kind: 'hybrid',
      where: 'hybrid over tiered: memory over sqlite /srv/app/s.db',
      store: { kind: 'tiered', persistent: { kind: 'sqlite', path: '/srv/app/s.db' } },
    });
  });

  it('describes a URL for logs without the user or the password', () => {
    expect(describeStoreUrl('postgres://admin:hunter2@db.internal:5433/app?table=s')).toBe(
      'postgres db.internal:5433/app',
    );
    expect(describeStoreUrl('redis+sentinel://:hunter2@s1,s2/main')).toBe(
      'redis sentinel s1:26379,s2:26379/main',
    );
  });

  it.each([
    ['', /The store URL is empty/],
    ['ftp://x', /Unknown store "ftp:"/],
    ['just-a-path.db', /The store URL has no scheme/],
    ['memory:extra', /"memory:"/],
    ['sqlite:', /needs a database path/],
    ['file:', /needs a directory/],
    ['redis:127.0.0.1', /redis:\/\/host:port/],
    ['redis://', /needs a host/],
    ['redis://a,b', /redis\+sentinel:\/\/ or redis\+cluster:\/\//],
    ['redis://h:99999', /malformed host or port/],
    ['redis://h/x', /database must be a number/],
    ['redis+sentinel://h', /<master>/],
    ['redis+cluster://h/0', /Cluster URL has no database/],
    ['redis://h?client=valkey', /`client` must be "ioredis" or "redis"/],
    ['postgres://a,b/db', /names one host/],
    ['postgres://h/db?poolSize=0', /`poolSize` must be an integer from 1 to 1000/],
    ['postgres://h/db?ssl=maybe', /`ssl` must be true or false/],
    ['postgres://h/db?prepare=off', /`prepare` must be true or false/],
    ['mysql://h/db?prepare=false', /Unknown parameter `prepare` in the mysql store URL/],
    ['mysql://h/db?table=a&table=b', /`table` appears twice/],
    ['mysql://h/db?prefix=x', /Unknown parameter `prefix` in the mysql store URL/],
    ['sqlite:./x.db?poolSize=2', /Unknown parameter `poolSize`.*`table`, `busyTimeout`/],
    ['tiered:redis://x', /tiered:<cache-url>\+<persistent-url>/],
    ['tiered:memory:+tiered:memory:+memory:', /cannot contain another tiered store/],
    ['tiered:cookie:+memory:', /cannot contain a cookie store/],
    ['cookie:tiered:memory:+memory:', /"cookie:<revocation-store-url>"/],
    ['cookie:cookie:', /"cookie:<revocation-store-url>"/],
    ['cookie:hybrid:memory:', /"cookie:<revocation-store-url>"/],
    ['hybrid:', /"hybrid:<store-url>"/],
    ['hybrid:cookie:', /"hybrid:<store-url>"/],
    ['hybrid:hybrid:memory:', /"hybrid:<store-url>"/],
    ['tiered:hybrid:memory:+memory:', /cannot contain a hybrid store/],
    ['tiered:memory:+hybrid:memory:', /cannot contain a hybrid store/],
  ])('%j is a ConfigError naming the problem', (url, message) => {
    const error = catchError(() => parse(url));
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('never repeats a password, a user or a parameter value in an error', () => {
    for (const url of [
      'postgres://u:hunter2@',
      'postgres://u:hunter2@db:notaport/x',
      'redis://:hunter2@[bad',
      'redis://:hunter2%zz@h',
      'mysql://hunter2:x@h/db?password=hunter2',
      'postgres://u@h/db?poolSize=hunter2',
      'redis+sentinel://:hunter2@h',
    ]) {
      const error = catchError(() => parse(url));
      expect(isSessionError(error, 'ERR_SESSION_CONFIG'), url).toBe(true);
      expect((error as Error).message, url).not.toContain('hunter2');
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
