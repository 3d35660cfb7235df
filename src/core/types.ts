/**
 * `sessionkit` — public type helpers for typed session data.
 */

/** The data type of a session when none is given: any JSON object. */
export type DefaultData = Record<string, unknown>;

/** The flash type of a session when none is given: any key, any JSON value. */
export type DefaultFlash = Record<string, unknown>;

type PrevDepth = [never, 0, 1, 2, 3, 4];

/**
 * Every dot path into `T`, up to 4 levels deep: `'user' | 'user.name' | 'cart.items'`. Arrays are
 * leaves. For untyped data (`Record<string, unknown>`) this is `string`.
 */
export type SessionPath<T, Depth extends number = 4> = [Depth] extends [never]
  ? never
  : T extends readonly unknown[]
    ? never
    : T extends object
      ? {
          [K in keyof T & string]:
            | K
            | (NonNullable<T[K]> extends readonly unknown[]
                ? never
                : NonNullable<T[K]> extends object
                  ? `${K}.${SessionPath<NonNullable<T[K]>, PrevDepth[Depth]>}`
                  : never);
        }[keyof T & string]
      : never;

/** The type of the value at dot path `P` in `T` (`unknown` when `T` does not say). */
export type SessionPathValue<T, P extends string> = P extends keyof T
  ? T[P]
  : P extends `${infer Head}.${infer Rest}`
    ? Head extends keyof T
      ? SessionPathValue<NonNullable<T[Head]>, Rest>
      : unknown
    : unknown;
