import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/stores/', import.meta.url));
const TESTS = fileURLToPath(new URL('./', import.meta.url));

// Public stores: every src/stores/*.ts except private `_` modules and declaration files.
const stores = readdirSync(SRC)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('_'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

describe('every store runs the conformance suite', () => {
  it('finds the stores (the list is not vacuously empty)', () => {
    expect(stores).toContain('memory');
  });

  for (const name of stores) {
    it(`test/stores/${name}.test.ts exists and calls describeStore(`, () => {
      const file = `${TESTS}${name}.test.ts`;
      expect(existsSync(file), `missing test/stores/${name}.test.ts`).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain('describeStore(');
    });
  }
});
