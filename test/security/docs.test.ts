/**
 * The traceability table in docs/security.md stays true: every point of the security bar (§1–§25)
 * has a row that states the point, every row cites at least one test (or says why none can exist
 * yet), and every cited test exists in the cited file. Also §25: the documentation states the
 * timeouts, the concurrent-session policy and the revocation semantics. The page ships in the
 * package, so it cites no file that only the project's maintainers have.
 */

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const DOC = readFileSync(new URL('docs/security.md', ROOT), 'utf8');
const POINTS = 25;

/** The rows of the traceability table: point number → the point and the cell with the tests. */
function table(): Map<number, { point: string; tests: string }> {
  const section = DOC.slice(DOC.indexOf('## Traceability'));
  const out = new Map<number, { point: string; tests: string }>();
  for (const line of section.split('\n')) {
    const match = /^\| (\d+) \| ([^|]+) \| (.+) \|$/.exec(line);
    if (match !== null) out.set(Number(match[1]), { point: match[2]!, tests: match[3]! });
  }
  return out;
}

/** Point number → cell with the tests. */
function rows(): Map<number, string> {
  return new Map([...table()].map(([point, row]) => [point, row.tests]));
}

describe('docs/security.md', () => {
  it('has a traceability row for every point of the security bar', () => {
    expect([...rows().keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: POINTS }, (_, i) => i + 1),
    );
  });

  it('states each point in its row and cites no file outside the package', () => {
    for (const [point, { point: text }] of table()) {
      expect(text.trim().split(/\s+/).length, `§${point}: ${text}`).toBeGreaterThanOrEqual(10);
    }
    expect(DOC).not.toMatch(/SECURITY\.md|PRODUCT\.md|STYLE\.md/);
  });

  it('every cited test exists in the cited file; rows without tests say why', () => {
    let cited = 0;
    for (const [point, cell] of rows()) {
      const refs = [...cell.matchAll(/`([^`]+\.ts)` › "([^"]+)"/g)];
      if (refs.length === 0) {
        expect(cell, `§${point}`).toMatch(/^n\/a — /);
        continue;
      }
      for (const [, file, name] of refs) {
        const path = new URL(file!, ROOT);
        expect(existsSync(path), `§${point}: ${file}`).toBe(true);
        expect(readFileSync(path, 'utf8'), `§${point}: ${file} › ${name}`).toContain(name);
        cited += 1;
      }
    }
    expect(cited).toBeGreaterThanOrEqual(2 * (POINTS - 2));
  });

  it('documents the timeouts, the session limit policy and the revocation semantics (§25)', () => {
    for (const text of [
      '| idle timeout | 30 min |',
      '| absolute timeout | 12 h |',
      '`maxSessionsPerUser',
      "`sessionLimit: 'evict-oldest'`",
      '## Revocation semantics',
      '## What sessionkit cannot protect against',
    ]) {
      expect(DOC).toContain(text);
    }
  });
});
