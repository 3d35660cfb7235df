/**
 * `sessionkit` — the JWT token codec of `sessionkit/stores/jwt`: the sealed session as a signed
 * JWT (RFC 7519) that other services can verify, through `jose` — an optional peer dependency,
 * imported on first use. sessionkit writes no JWT code of its own (docs/security.md §14).
 *
 * Header `{ alg, kid, typ: 'session+jwt' }` (explicit typing, RFC 8725 §3.11). Claims: `iss`,
 * `aud`, `jti` (the session id), `sub` (the user, when signed in), `iat`, `nbf`, `exp` (seconds),
 * and the session itself under the one private claim `sk` (data, flash, metadata and the
 * millisecond times the lifecycle checks). Verification pins the configured algorithm, requires
 * `typ` and every registered claim, checks `iss`/`aud`/`exp`/`nbf`/`iat` with the leeway, and
 * picks the key by `kid` from the configured keys only — never from the token (`jwk`, `jku`,
 * `x5u` are ignored). The payload is signed, not encrypted: the client can read it.
 */

import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { CodecLimits, SessionPayload } from './codec.js';
import { ConfigError } from './errors.js';
import type { KeyRing } from './keys.js';
import type { OpenFailure, TokenCodec, Unsealed } from './sealed.js';
import { claimsFromJson, type SealedClaims, sealedText } from './sealed-text.js';

/** The algorithms a JWT store may be configured with. */
export type JwtAlgorithm = 'HS256' | 'EdDSA' | 'ES256';

/** The `typ` header every session JWT carries and must carry. */
export const JWT_TYPE = 'session+jwt';

/** One asymmetric key of a JWT store (`EdDSA`: Ed25519; `ES256`: P-256). */
export interface JwtKey {
  /** Key id, sent as `kid` (1–64 letters, digits, `-`, `_`, `.`). */
  kid: string;
  /** The public key: verifies. */
  publicKey: KeyObject;
  /** The private key: the first key of the list must have one, and signs. */
  privateKey?: KeyObject | undefined;
}

/** What the JWT codec is made from (validated by `jwtStore()`). @internal */
export interface JwtSettings {
  algorithm: JwtAlgorithm;
  issuer: string;
  audience: string;
  /** Asymmetric keys, primary first; `undefined` for `HS256` (the key ring's `jwt` subkeys). */
  keys: readonly JwtKey[] | undefined;
  /** Clock leeway in ms. */
  leeway: number;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest token the codec tries to verify (four full cookies). */
const MAX_JWT_LENGTH = 16_384;

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;

/**
 * Throw `ConfigError` unless `jose` can be loaded: checked when the store is made, so a missing
 * optional dependency fails at startup, not on the first request. @internal
 */
export function requireJose(): void {
  try {
    createRequire(import.meta.url).resolve('jose');
  } catch (cause) {
    throw new ConfigError(
      'jwtStore() needs the optional peer dependency `jose` (^6): npm install jose',
      { cause },
    );
  }
}

/** Validate asymmetric keys for `algorithm`; throws `ConfigError` naming the key. @internal */
export function checkJwtKeys(algorithm: JwtAlgorithm, keys: readonly JwtKey[]): void {
  if (keys.length === 0 || keys[0]?.privateKey === undefined) {
    throw new ConfigError(
      `jwtStore: \`keys\` needs at least one key, the first with a \`privateKey\` (it signs; the others only verify).`,
    );
  }
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (typeof key?.kid !== 'string' || !KID.test(key.kid) || seen.has(key.kid)) {
      throw new ConfigError(
        `jwtStore: \`keys[${index}].kid\` must be a unique id of 1–64 letters, digits, ".", "-" or "_".`,
      );
    }
    seen.add(key.kid);
    for (const [part, value] of [
      ['publicKey', key.publicKey],
      ['privateKey', key.privateKey],
    ] as const) {
      if (value === undefined && part === 'privateKey') continue;
      const type = (value as KeyObject | undefined)?.asymmetricKeyType;
      const curve = (value as KeyObject | undefined)?.asymmetricKeyDetails?.namedCurve;
      const fits =
        algorithm === 'EdDSA' ? type === 'ed25519' : type === 'ec' && curve === 'prime256v1';
      const kind = (value as KeyObject | undefined)?.type;
      if (!fits || kind !== (part === 'publicKey' ? 'public' : 'private')) {
        throw new ConfigError(
          `jwtStore: \`keys[${index}].${part}\` must be a ${part === 'publicKey' ? 'public' : 'private'} ${algorithm === 'EdDSA' ? 'Ed25519' : 'P-256'} KeyObject for ${algorithm}.`,
        );
      }
    }
  });
}

/**
 * The JWT codec for `settings` over the manager's key ring: `HS256` signs with the ring's `jwt`
 * HKDF subkeys (`kid` = the secret's id; older secrets only verify), `EdDSA`/`ES256` with the
 * configured keys. @internal
 */
export function jwtCodec(settings: JwtSettings, ring: KeyRing): TokenCodec {
  const { algorithm, issuer, audience, leeway } = settings;
  const kids = settings.keys?.map((k) => k.kid) ?? [...ring.ids];
  const verifying: readonly (KeyObject | Uint8Array)[] =
    settings.keys?.map((k) => k.publicKey) ?? ring.all('jwt');
  const signing: KeyObject | Uint8Array = settings.keys?.[0]?.privateKey ?? ring.primary('jwt');
  return {
    async seal(
      claims: SealedClaims,
      payload: SessionPayload,
      limits: CodecLimits,
    ): Promise<string> {
      const { SignJWT } = await loadJose();
      const sk: unknown = JSON.parse(sealedText(claims, payload, limits));
      const userId = payload.meta.userId;
      return new SignJWT({ sk, ...(userId === null ? {} : { sub: userId }) })
        .setProtectedHeader({ alg: algorithm, kid: kids[0]!, typ: JWT_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setJti(claims.sid)
        .setIssuedAt(seconds(claims.iat))
        .setNotBefore(seconds(claims.iat))
        .setExpirationTime(seconds(claims.exp))
        .sign(signing);
    },
    async open(token: string, limits: CodecLimits, now: number): Promise<Unsealed | OpenFailure> {
      if (token.length > MAX_JWT_LENGTH) return 'malformed';
      let keyIndex = -1;
      try {
        const { jwtVerify } = await loadJose();
        const { payload } = await jwtVerify(
          token,
          (header) => {
            keyIndex = typeof header.kid === 'string' ? kids.indexOf(header.kid) : -1;
            if (keyIndex === -1) throw new Error('unknown kid');
            return verifying[keyIndex]!;
          },
          {
            algorithms: [algorithm],
            typ: JWT_TYPE,
            issuer,
            audience,
            clockTolerance: Math.ceil(leeway / 1000),
            currentDate: new Date(now),
            requiredClaims: ['iss', 'aud', 'jti', 'iat', 'nbf', 'exp'],
          },
        );
        const opened = claimsFromJson(payload.sk, limits);
        if (opened === undefined || opened.claims.sid !== payload.jti) return 'claims';
        if ((opened.payload.meta.userId ?? undefined) !== payload.sub) return 'claims';
        return { ...opened, keyIndex };
      } catch (error) {
        return failure(error);
      }
    },
  };
}

/** What a `jose` error means for the request: every one is anonymous, reported by kind. */
function failure(error: unknown): OpenFailure {
  switch ((error as { code?: unknown })?.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'signature';
    case 'ERR_JWT_EXPIRED':
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'claims';
    default:
      return 'malformed'; // garbage, bad header, unknown kid, `crit`, a non-JSON payload
  }
}

function loadJose(): Promise<Jose> {
  jose ??= import('jose');
  return jose;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
