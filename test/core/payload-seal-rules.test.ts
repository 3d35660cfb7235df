/**
 * The stored-payload encryption's compatibility and binding rules (`src/core/payload-seal.ts`):
 * a record sealed by this release (a fixed vector) must open after any change to the code — the
 * key derivation, the AAD's exact bytes, the envelope — or every stored session would be lost; and
 * the AAD binds the store key and the key id, so the same ciphertext under another store key,
 * relabelled with another key id of the ring, or under another envelope version, does not open;
 * and an IV of another length than the 12 bytes it writes is refused even when it authenticates.
 * Neighbour: codec.test.ts (the format).
 */

import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealPayload, unsealPayload } from '../../src/core/codec.js';
import { createKeyRing } from '../../src/core/keys.js';

const SECRET = 'Qm9vdHN0cmFwLXRlc3QtdmVjdG9yLW9ubHktNDgtYnl0ZXMtb2YtZW50cm9weSE';
const STORE_KEY = 's'.repeat(43);
const TEXT = '{"v":1,"d":{"n":1},"f":{},"m":{}}';
/** Sealed on 2026-11-29 (main 4406f2e) with SECRET under STORE_KEY. */
const VECTOR =
  'sk1.0.slH_W5dNOn2mMsEF.t9bzt4S_aWoA5314b988wmPtGKsCamh3WUEjFxCBzM8JTc-2aseO_7LD4N-V0URhRQ';

describe('a record sealed by this release', () => {
  it('opens with the same secret and store key, to the same text', () => {
    expect(unsealPayload(VECTOR, createKeyRing(SECRET), STORE_KEY)).toEqual({
      text: TEXT,
      keyId: '0',
    });
  });

  it('does not open under another store key, or relabelled with another key id', () => {
    const ring = createKeyRing(SECRET);
    expect(unsealPayload(VECTOR, ring, 't'.repeat(43))).toBeUndefined();
    expect(unsealPayload(VECTOR, ring, STORE_KEY.slice(1))).toBeUndefined();
    // Another envelope version is refused before any decryption (the AAD holds the constant).
    expect(unsealPayload(`sk2.${VECTOR.slice(4)}`, ring, STORE_KEY)).toBeUndefined();
    expect(unsealPayload(`SK1.${VECTOR.slice(4)}`, ring, STORE_KEY)).toBeUndefined();
    const two = createKeyRing([SECRET, SECRET]);
    expect(unsealPayload(VECTOR, two, STORE_KEY)?.text).toBe(TEXT);
    // Key 1 is the same secret: only the key id in the AAD differs.
    expect(unsealPayload(`sk1.1.${VECTOR.slice(6)}`, two, STORE_KEY)).toBeUndefined();
  });

  it('a fresh seal of the same text under the same key differs (a random IV) and opens', () => {
    const ring = createKeyRing(SECRET);
    const fresh = sealPayload(TEXT, ring, STORE_KEY);
    expect(fresh).not.toBe(VECTOR);
    expect(fresh.length).toBe(VECTOR.length);
    expect(unsealPayload(fresh, ring, STORE_KEY)).toEqual({ text: TEXT, keyId: '0' });
  });
});

/**
 * `text` sealed as `sealPayload` seals it (same key, AAD and layout) but with an IV of
 * `ivBytes` bytes: what only a holder of the key could make.
 */
function sealWithIv(text: string, ivBytes: number): string {
  const ring = createKeyRing(SECRET);
  const iv = Buffer.alloc(ivBytes, 7);
  const cipher = createCipheriv('aes-256-gcm', ring.primary('payload-encrypt'), iv);
  cipher.setAAD(Buffer.from(`sessionkit/sk1\0payload-encrypt\0${ring.ids[0]}\0${STORE_KEY}`));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `sk1.0.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

describe('the IV length rule', () => {
  it('opens the 12-byte IV it writes, and refuses a 16- or 8-byte IV that authenticates', () => {
    const ring = createKeyRing(SECRET);
    expect(unsealPayload(sealWithIv(TEXT, 12), ring, STORE_KEY)).toEqual({
      text: TEXT,
      keyId: '0',
    });
    // AES-GCM itself accepts any IV length: only the rule refuses these.
    expect(unsealPayload(sealWithIv(TEXT, 16), ring, STORE_KEY)).toBeUndefined();
    expect(unsealPayload(sealWithIv(TEXT, 8), ring, STORE_KEY)).toBeUndefined();
  });
});
