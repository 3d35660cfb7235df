/**
 * A small multi-cookie jar for the sealed-cookie tests: it applies `Set-Cookie` lines the way a
 * browser does for one host and path (a value replaces the cookie of the same name, `Max-Age=0`
 * removes it) and renders the `Cookie` header to send back, in insertion order.
 */

/** Cookies by name, as a browser would keep them for one origin. */
export class Jar {
  readonly #cookies = new Map<string, string>();

  /** Start with `header` (a `Cookie` header such as `a=1; b=2`), if given. */
  constructor(header?: string) {
    for (const part of header?.split(';') ?? []) {
      const eq = part.indexOf('=');
      if (eq > 0) this.#cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }

  /** Apply every `Set-Cookie` line; returns the jar. */
  take(lines: readonly string[]): this {
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const expired = attributes.some((a) => a.toLowerCase() === 'max-age=0');
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1));
    }
    return this;
  }

  /** The `Cookie` header to send, or `undefined` when empty. */
  get header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Cookie names held, in order. */
  get names(): string[] {
    return [...this.#cookies.keys()];
  }

  /** The value of `name`, or `undefined`. */
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** Set (or, with `undefined`, remove) one cookie directly. */
  set(name: string, value: string | undefined): this {
    if (value === undefined) this.#cookies.delete(name);
    else this.#cookies.set(name, value);
    return this;
  }

  /** A copy. */
  clone(): Jar {
    return new Jar(this.header);
  }
}
