import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createKeyRing } from '../../src/index.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

describe('sessionkit CLI', () => {
  it('keygen prints secrets the key ring accepts', async () => {
    const { code, out } = await run(['keygen', '--count', '3']);
    expect(code).toBe(0);
    expect(out).toHaveLength(3);
    expect(new Set(out).size).toBe(3);
    for (const secret of out) expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(() => createKeyRing(out)).not.toThrow();
  });

  it('usage errors exit 2', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['keygen', '--count', '0'])).code).toBe(2);
    expect((await run(['--help'])).code).toBe(0);
  });

  it('runs as a real process', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'keygen',
    ]);
    expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
