/**
 * `sessionkit` — payload encryption (`encrypt: true`, docs/security.md §11): an encoded payload
 * sealed with AES-256-GCM under the key ring's `payload-encrypt` subkeys, bound to the record's
 * store key.
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './keys.js';

const SEAL_VERSION = 'sk1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

// AAD binds the envelope version, the key id, the purpose and the record's store key, so a
// ciphertext copied under another session's key (or replayed as another purpose) fails to open
// (docs/security.md §11).
function sealAad(kid: string, storeKey: string): Buffer {
  return Buffer.from(`sessionkit/${SEAL_VERSION}\0payload-encrypt\0${kid}\0${storeKey}`);
}

/**
 * Encrypt an encoded payload for storage under `storeKey` with the ring's primary key:
 * AES-256-GCM, a random 96-bit IV per call, a 16-byte tag, as
 * `sk1.<key id>.<iv>.<ciphertext‖tag>` (base64url parts).
 */
export function sealPayload(text: string, ring: KeyRing, storeKey: string): string {
  const kid = ring.ids[0]!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.primary('payload-encrypt'), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(sealAad(kid, storeKey));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEAL_VERSION}.${kid}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/**
 * Open a sealed payload. Resolves `undefined` — never throws, never falls back to plaintext — for
 * anything that does not authenticate: unknown or removed key id, wrong store key, wrong IV or
 * tag length, any flipped bit. `keyId` tells which key opened it (re-seal when not the primary).
 */
export function unsealPayload(
  data: string,
  ring: KeyRing,
  storeKey: string,
): { text: string; keyId: string } | undefined {
  const parts = data.split('.');
  if (parts.length !== 4 || parts[0] !== SEAL_VERSION) return undefined;
  const [, kid, ivText, bodyText] = parts as [string, string, string, string];
  const index = ring.ids.indexOf(kid);
  if (index === -1) return undefined;
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return undefined;
  if (iv.toString('base64url') !== ivText || body.toString('base64url') !== bodyText)
    return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', ring.all('payload-encrypt')[index]!, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(sealAad(kid, storeKey));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return { text: plain.toString('utf8'), keyId: kid };
  } catch {
    return undefined;
  }
}
