/**
 * Private: the facade's change detector. express-session decides whether a session was modified
 * by comparing a hash of its JSON without the top-level `cookie`; a {@link Fingerprint} decides
 * exactly the same (two fingerprints are {@link same} exactly when those two JSON texts are
 * equal) without building that text for the usual session. Its parts are the top-level keys in
 * order, each with its value when the value is a string, a finite number, a boolean or `null`
 * (whose JSON text is a one-to-one function of the value, so `===` decides), and with the member's
 * JSON text otherwise (an object can change inside without an assignment the session could see,
 * so it is always serialized). A key whose value JSON leaves out (`undefined`, a function, …) is
 * left out here too.
 */

/** The JSON text of one member `"key":value` whose value is not a plain scalar. */
class Member {
  constructor(readonly text: string) {}
}

/** A session's change fingerprint: key, value-or-{@link Member}, key, … (see the module header). */
export type Fingerprint = readonly unknown[];

/** The fingerprint of `session` (its own enumerable keys, `cookie` skipped). */
export function fingerprint(session: object): Fingerprint {
  const parts: unknown[] = [];
  const record = session as Record<string, unknown>;
  for (const key of Object.keys(session)) {
    if (key === 'cookie') continue;
    const value = record[key];
    if (isScalar(value)) parts.push(key, value);
    else {
      const text = memberText(key, value);
      if (text !== undefined) parts.push(key, new Member(text));
    }
  }
  return parts;
}

/** Whether `a` and `b` are fingerprints of sessions with the same JSON (`cookie` aside). */
export function same(a: Fingerprint | undefined, b: Fingerprint | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 2) {
    const key = a[i];
    if (key !== b[i]) return false;
    const x = a[i + 1];
    const y = b[i + 1];
    if (x === y) continue;
    const xm = x instanceof Member;
    const ym = y instanceof Member;
    if (xm && ym) {
      if (x.text !== y.text) return false;
    } else if (!xm && !ym) {
      return false; // two different scalars: different JSON
    } else if (textOf(key as string, x) !== textOf(key as string, y)) {
      // A scalar against a member: compared as JSON (`NaN` and `null` are both `null` there).
      return false;
    }
  }
  return true;
}

function isScalar(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    value === null ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function textOf(key: string, part: unknown): string | undefined {
  return part instanceof Member ? part.text : memberText(key, part);
}

/**
 * `"key":value` as `JSON.stringify` writes it inside the session's object (a `toJSON` is called
 * with the key, as there), or `undefined` when JSON leaves the member out. Throws as
 * `JSON.stringify` of the session would (a `BigInt`, a cycle).
 */
function memberText(key: string, value: unknown): string | undefined {
  // A computed key defines an own property, "__proto__" included.
  const text = JSON.stringify({ [key]: value });
  return text.length === 2 ? undefined : text;
}
