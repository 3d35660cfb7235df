/**
 * The stored-payload encryption's compatibility and binding rules (`src/core/payload-seal.ts`):
 * a record sealed by this release (a fixed vector) must open after any change to the code — the
 * key derivation, the AAD's exact bytes, the envelope — or every stored session would be lost; and
 * the AAD binds the store key and the key id, so the same ciphertext under another store key,
 * relabelled with another key id of the ring, or under another envelope version, does not open.
 * Neighbour: codec.test.ts (the format).
 */

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
