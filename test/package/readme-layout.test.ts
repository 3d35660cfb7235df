/**
 * README's Layout section lists `src/core` file by file (issue 10): a core file added, renamed or
 * removed without its row fails here, naming the file.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The file names of the README's `src/core` table (rows `| \`name.ts\` | lines | owns |`). */
function listedCoreFiles(readme: string): string[] {
  const start = readme.indexOf('`src/core` — ');
  const end = readme.indexOf('`src/stores`', start);
  if (start < 0 || end < 0) throw new Error('README has no src/core layout table');
  return [...readme.slice(start, end).matchAll(/^\| `([\w-]+\.ts)` \| \d+ \|/gm)].map((m) => m[1]!);
}

describe('README layout', () => {
  it('lists every src/core file once, and no other', () => {
    const listed = listedCoreFiles(readFileSync(`${ROOT}README.md`, 'utf8'));
    const files = readdirSync(`${ROOT}src/core`).filter((f) => f.endsWith('.ts'));
    expect(listed.length).toBe(new Set(listed).size);
    expect([...listed].sort()).toEqual([...files].sort());
  });
});
