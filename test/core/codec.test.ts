/**
 * The payload codec's data rules pinned at their boundaries (issue 16): depth and size limits on
 * both sides of the bound, the shape checks of a decoded envelope (flash lists, forbidden keys,
 * every meta field), write validation of frozen objects, and the copy-on-write path helpers.
 * Round trips and prototype pollution through decoding: primitives.test.ts.
 */

import { describe, expect, it } from 'vitest';
import {
  type DataObject,
  decodePayload,
  decodeRedirect,
  emptyObject,
  encodePayload,
  encodeRedirect,
  getAt,
  parsePath,
  payloadFromJson,
  type SessionMeta,
  sealPayload,
  toSessionValue,
  toValueAt,
  unsealPayload,
} from '../../src/core/codec.js';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/core/keys.js';
import { manager, request } from './helpers.js';

const meta: SessionMeta = {
  createdAt: 1,
  lastSeenAt: 2,
  absoluteExpiresAt: 3,
  userId: null,
  ip: null,
  userAgent: null,
  persistent: false,
  csrf: null,
  fingerprint: null,
  generation: 0,
};
const limits = { maxBytes: 4096, maxDepth: 4 };

/** `levels` objects nested in each other: 1 is `{}`, 2 is `{ a: {} }`. */
function nest(levels: number, leaf: unknown = 'leaf'): unknown {
  let value: unknown = leaf === undefined ? {} : { leaf };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** An envelope around `d`, `f` and `m` as JSON text. */
function envelope(d: unknown, f: unknown = {}, m: unknown = meta): string {
  return JSON.stringify({ v: 1, d, f, m });
}

/** The error `fn` throws (fails the test when none is thrown). */
function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('did not throw');
}

/** Plain JSON view of session data (null prototypes compare like plain objects). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('decodePayload: depth', () => {
  it('accepts data exactly maxDepth deep and refuses one level more', () => {
    // The data object itself is level 1.
    const ok = decodePayload(envelope(nest(4)), limits);
    expect(plain(ok?.data)).toEqual(nest(4));
    expect(decodePayload(envelope(nest(5)), limits)).toBeUndefined();
  });

  it('counts arrays as levels, and scalars in the deepest container do not count', () => {
    expect(decodePayload(envelope({ a: [[[1, 'x', null, true]]] }), limits)).toBeDefined();
    expect(decodePayload(envelope({ a: [[[[1]]]] }), limits)).toBeUndefined();
    expect(decodePayload(envelope({ a: [[[{}]]] }), limits)).toBeUndefined();
  });

  it('bounds flash lists the same way (a list is level 1)', () => {
    const ok = decodePayload(envelope({}, { n: [[[['deep']]]] }), limits);
    expect(plain(ok?.flash)).toEqual({ n: [[[['deep']]]] });
    expect(decodePayload(envelope({}, { n: [[[[['deep']]]]] }), limits)).toBeUndefined();
  });

  it('never throws on nesting far beyond the bound', () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const text = `{"v":1,"d":${deep},"f":{},"m":${JSON.stringify(meta)}}`;
    expect(decodePayload(text, { maxBytes: 1 << 20, maxDepth: 32 })).toBeUndefined();
  });
});

describe('decodePayload: size', () => {
  it('decodes a text of exactly maxBytes characters and refuses one more', () => {
    const base = envelope({ s: '' });
    const pad = 'x'.repeat(200 - base.length);
    const text = envelope({ s: pad });
    expect(text).toHaveLength(200);
    expect(decodePayload(text, { maxBytes: 200, maxDepth: 4 })?.data.s).toBe(pad);
    expect(decodePayload(text, { maxBytes: 199, maxDepth: 4 })).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    expect(decodePayload(42 as unknown as string, limits)).toBeUndefined();
  });
});

describe('decodePayload: flash entries', () => {
  it('refuses a payload whose flash entry is not a list', () => {
    for (const entry of [1, 'x', null, {}, true]) {
      expect(decodePayload(envelope({}, { notice: entry }), limits), String(entry)).toBeUndefined();
    }
    expect(plain(decodePayload(envelope({}, { notice: ['saved'] }), limits)?.flash)).toEqual({
      notice: ['saved'],
    });
  });

  it('drops forbidden keys in flash and in data, keeping the rest, all frozen and null-prototype', () => {
    const text =
      '{"v":1,"d":{"ok":{"__proto__":{"x":1},"prototype":2,"y":3}},' +
      '"f":{"__proto__":["a"],"constructor":["b"],"prototype":["c"],"notice":[{"constructor":1,"k":2}]},' +
      `"m":${JSON.stringify(meta)}}`;
    const payload = decodePayload(text, limits)!;
    expect(Object.keys(payload.flash)).toEqual(['notice']);
    expect(plain(payload.flash)).toEqual({ notice: [{ k: 2 }] });
    expect(plain(payload.data)).toEqual({ ok: { y: 3 } });
    expect(Object.getPrototypeOf(payload.flash)).toBeNull();
    expect(Object.isFrozen(payload.flash)).toBe(true);
    const notice = payload.flash.notice as unknown[];
    expect(Object.isFrozen(notice)).toBe(true);
    expect(Object.getPrototypeOf(notice[0])).toBeNull();
    expect(Object.isFrozen(notice[0])).toBe(true);
    expect(Object.isFrozen(payload.data)).toBe(true);
    expect(Object.getPrototypeOf(payload.data)).toBeNull();
  });
});

describe('decodePayload: the envelope and meta', () => {
  it('returns every meta field as written, with csrf and fingerprint defaulting to null (generation to 0)', () => {
    const full: SessionMeta = {
      createdAt: 10,
      lastSeenAt: 20,
      absoluteExpiresAt: 30,
      userId: 'alice',
      ip: '192.0.2.1',
      userAgent: 'UA',
      persistent: true,
      csrf: 'c',
      fingerprint: 'f',
      generation: 1_700_000_000_000,
    };
    expect(decodePayload(envelope({}, {}, full), limits)?.meta).toEqual(full);
    const { csrf: _c, fingerprint: _f, generation: _g, ...older } = full;
    expect(decodePayload(envelope({}, {}, older), limits)?.meta).toEqual({
      ...full,
      csrf: null,
      fingerprint: null,
      generation: 0,
    });
  });

  it.each<[string, Partial<Record<keyof SessionMeta, unknown>>]>([
    ['createdAt', { createdAt: '1' }],
    ['lastSeenAt', { lastSeenAt: null }],
    ['absoluteExpiresAt', { absoluteExpiresAt: undefined }],
    ['userId', { userId: 7 }],
    ['userId missing', { userId: undefined }],
    ['ip', { ip: 1 }],
    ['userAgent', { userAgent: false }],
    ['persistent', { persistent: 'yes' }],
    ['persistent as null', { persistent: null }],
    ['csrf', { csrf: 1 }],
    ['fingerprint', { fingerprint: {} }],
    ['generation', { generation: '1' }],
    ['generation as a fraction', { generation: 1.5 }],
  ])('refuses a payload whose meta %s has the wrong type', (_name, change) => {
    expect(decodePayload(envelope({}, {}, { ...meta, ...change }), limits)).toBeUndefined();
  });

  it.each([
    ['another version', '{"v":2,"d":{},"f":{},"m":M}'],
    ['no version', '{"d":{},"f":{},"m":M}'],
    ['data as an array', '{"v":1,"d":[],"f":{},"m":M}'],
    ['data null', '{"v":1,"d":null,"f":{},"m":M}'],
    ['flash as an array', '{"v":1,"d":{},"f":[],"m":M}'],
    ['flash missing', '{"v":1,"d":{},"m":M}'],
    ['meta as an array', '{"v":1,"d":{},"f":{},"m":[]}'],
    ['an array envelope', '[1,{},{},M]'],
  ])('refuses %s', (_name, template) => {
    expect(decodePayload(template.replace('M', JSON.stringify(meta)), limits)).toBeUndefined();
  });

  it('payloadFromJson ignores other envelope fields and never throws', () => {
    const raw = { v: 1, d: { a: 1 }, f: {}, m: meta, extra: 'ignored' };
    expect(plain(payloadFromJson(raw, limits))).toEqual({ data: { a: 1 }, flash: {}, meta });
    expect(payloadFromJson(null, limits)).toBeUndefined();
    expect(payloadFromJson('x', limits)).toBeUndefined();
  });
});

describe('encodePayload: size', () => {
  it('accepts exactly maxBytes bytes of UTF-8 and refuses one byte more, with the size', () => {
    const payload = { data: { s: 'é'.repeat(100) }, flash: {}, meta };
    const text = encodePayload(payload, { maxBytes: 1 << 20, maxDepth: 4 });
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBe(text.length + 100); // 'é' is one UTF-16 unit, two UTF-8 bytes
    expect(encodePayload(payload, { maxBytes: bytes, maxDepth: 4 })).toBe(text);
    const error = thrown(() => encodePayload(payload, { maxBytes: bytes - 1, maxDepth: 4 }));
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', size: bytes, limit: bytes - 1 });
    expect(error.message).toBe(
      `The encoded session is ${bytes} bytes; the limit is ${bytes - 1} bytes.`,
    );
  });

  it('writes the versioned envelope { v, d, f, m }', () => {
    expect(JSON.parse(encodePayload({ data: { a: 1 }, flash: {}, meta }, limits))).toEqual({
      v: 1,
      d: { a: 1 },
      f: {},
      m: meta,
    });
  });
});

describe('toSessionValue: write validation', () => {
  it('accepts exactly maxDepth levels and refuses one more, naming the bound', () => {
    expect(plain(toSessionValue(nest(4), 4))).toEqual(nest(4));
    const error = thrown(() => toSessionValue(nest(5), 4));
    expect(error.code).toBe('ERR_SESSION_DATA');
    expect(error.message).toBe('Session data is nested deeper than 4.');
    expect(() => toSessionValue([[[[[1]]]]], 4)).toThrow('Session data is nested deeper than 4.');
  });

  it('validates a frozen plain object like any other (frozen is not "already session data")', () => {
    const frozen = Object.freeze({ when: new Date(0) });
    expect(thrown(() => toSessionValue(frozen, 8)).message).toBe(
      'Session data accepts plain objects only (no Date, Map or class instances).',
    );
    expect(thrown(() => toSessionValue(Object.freeze({ f: () => 1 }), 8)).message).toBe(
      'Session data cannot hold a function; use JSON data only.',
    );
    const copy = toSessionValue(Object.freeze({ a: 1 }), 8);
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(plain(copy)).toEqual({ a: 1 });
  });

  it('returns session data (frozen, null-prototype) as it is', () => {
    const data = toSessionValue({ a: { b: 1 } }, 8) as DataObject;
    expect(toSessionValue(data, 8)).toBe(data);
    expect(Object.isFrozen(data)).toBe(true);
    expect(Object.isFrozen(data.a)).toBe(true);
  });

  it('checks frozen null-prototype data before keeping it: a function, a forbidden key or a mutable child inside', () => {
    const withFunction = Object.freeze(Object.assign(Object.create(null), { f: () => 1 }));
    expect(thrown(() => toSessionValue(withFunction, 8)).message).toBe(
      'Session data cannot hold a function; use JSON data only.',
    );
    const withProto = Object.create(null) as DataObject;
    Object.defineProperty(withProto, '__proto__', { value: 1, enumerable: true }); // an own key
    expect(thrown(() => toSessionValue(Object.freeze(withProto), 8)).message).toBe(
      'Session data key "__proto__" is not allowed.',
    );
    const mutableChild = Object.freeze(Object.assign(Object.create(null), { inner: { a: 1 } }));
    const copy = toSessionValue(mutableChild, 8) as DataObject;
    expect(copy).not.toBe(mutableChild);
    expect(Object.isFrozen(copy.inner)).toBe(true);
    expect(Object.getPrototypeOf(copy.inner)).toBeNull();
  });

  it('session data set again at a path counts the path: deeper than maxDepth in all is refused at write', () => {
    const data = toSessionValue(nest(4), 8);
    expect(toValueAt(['a', 'b', 'c', 'd'], data, 8)).toBe(data);
    const error = thrown(() => toValueAt(['a', 'b', 'c', 'd', 'e'], data, 8));
    expect(error.code).toBe('ERR_SESSION_DATA');
    expect(error.message).toBe('Session data is nested deeper than 8.');
  });

  it('drops object members whose value is undefined, like JSON.stringify', () => {
    const value = toSessionValue({ gone: undefined, kept: 1, inner: { gone: undefined } }, 8);
    expect(Object.keys(value as object)).toEqual(['kept', 'inner']);
    expect(Object.keys((value as DataObject).inner as object)).toEqual([]);
  });

  it('refuses undefined in arrays and as a value, and every non-JSON kind, by name', () => {
    const cases: [unknown, string][] = [
      [[1, undefined], 'Session arrays cannot hold undefined.'],
      [undefined, 'Session data cannot hold a undefined; use JSON data only.'],
      [Symbol('s'), 'Session data cannot hold a symbol; use JSON data only.'],
      [1n, 'Session data cannot hold a bigint; use JSON data only.'],
      [Number.NaN, 'Session data cannot hold NaN or Infinity.'],
      [-Infinity, 'Session data cannot hold NaN or Infinity.'],
      [new Map(), 'Session data accepts plain objects only (no Date, Map or class instances).'],
      [{ __proto__: null, constructor: 1 }, 'Session data key "constructor" is not allowed.'],
      [{ prototype: 1 }, 'Session data key "prototype" is not allowed.'],
    ];
    for (const [value, message] of cases) {
      const error = thrown(() => toSessionValue(value, 8));
      expect(error.code).toBe('ERR_SESSION_DATA');
      expect(error.message).toBe(message);
    }
  });

  it('keeps scalars and null as they are, and freezes copies of arrays', () => {
    for (const value of ['s', '', true, false, 0, -1.5, null]) {
      expect(toSessionValue(value, 8)).toBe(value);
    }
    const input = [1, [2]];
    const out = toSessionValue(input, 8) as unknown[];
    expect(out).not.toBe(input);
    expect(out).toEqual([1, [2]]);
    expect(Object.isFrozen(out)).toBe(true);
    expect(Object.isFrozen(out[1])).toBe(true);
  });
});

describe('a session over the manager', () => {
  it('stores an object with undefined members without them, and keeps it on the next request', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('profile', { a: 1, b: undefined }));
    const { result } = await request(m, cookie, (s) => s.get('profile'));
    expect(Object.keys(result as object)).toEqual(['a']);
  });

  it('what a write accepts at the depth bound is read back on the next request', async () => {
    // Stored, the data object is level 1 and each key one level more: `set('k', v)` puts v's
    // top at level 2. A write the decoder would refuse must be refused at the write, not lose
    // the whole session on the next request.
    const m = manager({ maxDepth: 4 });
    const { cookie } = await request(m, undefined, (s) => {
      s.set('k', nest(3));
      s.set('a.b.c', {});
      s.set('x.y.z.w', 1);
      s.merge({ top: nest(3) });
      s.flash.set('note', nest(3));
    });
    const { result } = await request(m, cookie, async (s) => ({
      data: plain(await s.all()),
      note: plain(await s.flash.get('note')),
    }));
    expect(result).toEqual({
      data: { k: nest(3), a: { b: { c: {} } }, x: { y: { z: { w: 1 } } }, top: nest(3) },
      note: nest(3),
    });
    const deeper = 'Session data is nested deeper than 4.';
    await request(m, cookie, async (s) => {
      expect(() => s.set('k', nest(4))).toThrow(deeper);
      expect(() => s.set('a.b.c', { d: {} })).toThrow(deeper);
      expect(() => s.set('x.y.z.w.v', 1)).toThrow(deeper);
      expect(() => s.merge({ top: nest(4) })).toThrow(deeper);
      expect(() => s.flash.set('note', nest(4))).toThrow(deeper);
      await expect(s.update('k', () => nest(4))).rejects.toThrow(deeper);
      await expect(s.update('a.b.c.d', () => ({}))).rejects.toThrow(deeper);
    });
    const { result: after } = await request(m, cookie, (s) => s.get('k'));
    expect(plain(after)).toEqual(nest(3));
  });

  it('unsetting a missing nested path creates nothing', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('keep', 1));
    const { cookie: next } = await request(m, cookie, (s) => s.delete('missing.deep.key'));
    const { result } = await request(m, next, (s) => s.all());
    expect(plain(result)).toEqual({ keep: 1 });
  });
});

describe('getAt', () => {
  it('reads own keys only, and nothing through scalars', () => {
    const root = toSessionValue({ a: { b: 1, c: [1] }, s: 'x', n: null }, 8) as DataObject;
    expect(getAt(root, ['a', 'b'])).toBe(1);
    expect(getAt(root, ['a', 'c', '0'])).toBe(1);
    expect(getAt(root, [])).toBe(root);
    expect(getAt(root, ['s', 'length'])).toBeUndefined();
    expect(getAt(root, ['a', 'toString'])).toBeUndefined();
    expect(getAt(root, ['a', 'c', 'map'])).toBeUndefined(); // inherited from Array.prototype
    expect(getAt(root, ['a', 'c', 'length'])).toBe(1);
    expect(getAt(root, ['n', 'x'])).toBeUndefined();
    expect(getAt(root, ['nope', 'x'])).toBeUndefined();
  });
});

describe('parsePath', () => {
  it('splits on dots and refuses empty paths, empty segments and forbidden segments', () => {
    expect(parsePath('a.b.c')).toEqual(['a', 'b', 'c']);
    const cases: [unknown, string][] = [
      ['', 'A session key must be a non-empty string.'],
      [7, 'A session key must be a non-empty string.'],
      ['a..b', 'Session key "a..b" has an empty segment.'],
      ['.a', 'Session key ".a" has an empty segment.'],
      ['a.', 'Session key "a." has an empty segment.'],
      ['a.__proto__', 'Session key segment "__proto__" is not allowed.'],
      ['constructor', 'Session key segment "constructor" is not allowed.'],
      ['x.prototype.y', 'Session key segment "prototype" is not allowed.'],
    ];
    for (const [path, message] of cases) {
      const error = thrown(() => parsePath(path as string));
      expect(error.code).toBe('ERR_SESSION_DATA');
      expect(error.message).toBe(message);
    }
  });
});

describe('emptyObject', () => {
  it('is frozen, empty and null-prototype', () => {
    const empty = emptyObject();
    expect(Object.keys(empty)).toEqual([]);
    expect(Object.getPrototypeOf(empty)).toBeNull();
    expect(Object.isFrozen(empty)).toBe(true);
  });
});

describe('redirect records', () => {
  it('round-trip a store key and refuse anything else', () => {
    const key = hashSessionId('some id');
    expect(encodeRedirect(key)).toBe(`{"v":1,"moved":"${key}"}`);
    expect(decodeRedirect(encodeRedirect(key))).toBe(key);
    for (const text of [
      '{"v":1,"moved":"short"}',
      `{"v":1,"moved":"${key}x"}`,
      `{"v":1,"moved":"${key.slice(1)}."}`,
      '{"v":1,"moved":42}',
      `{"v":2,"moved":"${key}"}`,
      `{"moved":"${key}","v":1}`,
      '{"v":1,"moved":',
      `{"v":1,"d":{},"f":{},"m":{}}`,
    ]) {
      expect(decodeRedirect(text), text).toBeUndefined();
    }
  });
});

describe('sealPayload / unsealPayload', () => {
  const KEY = 'k'.repeat(43);

  /** A sealed envelope split into its four parts. */
  function parts(text: string): [string, string, string, string] {
    return sealPayload(text, createKeyRing(generateSecret()), KEY).split('.') as [
      string,
      string,
      string,
      string,
    ];
  }

  it('round-trips any text, the empty one too (a body of just the tag)', () => {
    const ring = createKeyRing([generateSecret(), generateSecret()]);
    for (const text of ['', 'x', '{"d":"é\u0000"}']) {
      expect(unsealPayload(sealPayload(text, ring, KEY), ring, KEY)).toEqual({ text, keyId: '0' });
    }
    const sealed = sealPayload('', ring, KEY);
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url')).toHaveLength(16);
  });

  it('refuses an envelope whose parts are not canonical base64url, though they decode the same', () => {
    const ring = createKeyRing(generateSecret());
    // 'x' seals to 1 + 16 bytes: base64url leaves 2 unused bits in the last character.
    const [v, kid, iv, body] = sealPayload('x', ring, KEY).split('.') as [
      string,
      string,
      string,
      string,
    ];
    const last = body.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!; // differs in an unused bit only
    const loose = `${body.slice(0, -1)}${sibling}`;
    expect(Buffer.from(loose, 'base64url')).toEqual(Buffer.from(body, 'base64url'));
    expect(unsealPayload([v, kid, iv, body].join('.'), ring, KEY)?.text).toBe('x');
    for (const envelope of [
      [v, kid, iv, loose],
      [v, kid, `${iv}=`, body],
      [v, kid, `!${iv}`, body],
      [v, kid, iv, `${body}=`],
    ]) {
      expect(unsealPayload(envelope.join('.'), ring, KEY), envelope.join('.')).toBeUndefined();
    }
  });

  it('writes sk1.<key id>.<12-byte IV>.<ciphertext and 16-byte tag>', () => {
    const [v, kid, iv, body] = parts('abc');
    expect(v).toBe('sk1');
    expect(kid).toBe('0');
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(body, 'base64url')).toHaveLength(3 + 16);
  });
});
