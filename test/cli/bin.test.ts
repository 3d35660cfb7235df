/**
 * The built `sessionkit` executable, run the way npm installs it: the CLI compiled with the build
 * config into `<tmp>/node_modules/sessionkit/` next to a copy of package.json, the `bin` target
 * made executable, and `node_modules/.bin/sessionkit` a relative symlink to it — then spawned
 * through the symlink, so the shebang, the exec bit and the symlinked entry all matter.
 */

import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeFromUrl } from '../../src/config/index.js';
import {
  createKeyRing,
  createSessionManager,
  generateSecret,
  type Session,
  type SessionManager,
} from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
let dir = '';
let bin = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sessionkit-bin-'));
  const installed = join(dir, 'node_modules', 'sessionkit');
  mkdirSync(installed, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(installed, 'package.json'));
  // Only the CLI and what it imports, with the build's compiler options: fast, and never the
  // repository's dist/, which may be stale or mid-rebuild.
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(root, 'src'),
        outDir: join(installed, 'dist'),
        typeRoots: [join(root, 'node_modules/@types')],
      },
      files: [join(root, 'src/cli/bin.ts')],
      include: [],
    }),
  );
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig]);
  const target = pkg.bin.sessionkit!;
  chmodSync(join(installed, target), 0o755);
  mkdirSync(join(dir, 'node_modules', '.bin'));
  bin = join(dir, 'node_modules', '.bin', 'sessionkit');
  symlinkSync(join('..', 'sessionkit', target), bin);
}, 180_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Spawn the symlinked bin from the temp project; `node` on PATH is the one running the tests. */
function spawnBin(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    ...extra,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
  };
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: dir, env }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('sessionkit bin, installed and run through its symlink', () => {
  it('package.json points the bin at the built entry', () => {
    expect(pkg.bin).toEqual({ sessionkit: './dist/cli/bin.js' });
  });

  it('--help prints the global help and exits 0', async () => {
    const { code, stdout, stderr } = await spawnBin(['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: sessionkit <command> \[options\]\n/);
    expect(stdout).toContain('\n  keygen   print fresh secrets for the `secrets` option\n');
    expect(
      stdout.endsWith('Exit codes: 0 success, 1 failure, 2 usage or configuration error.\n'),
    ).toBe(true);
  });

  it('--version prints the version of the installed package.json', async () => {
    expect(await spawnBin(['--version'])).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
  });

  it('keygen prints a secret; --count=3 and --count 3 print three', async () => {
    const one = await spawnBin(['keygen']);
    expect({ code: one.code, stderr: one.stderr }).toEqual({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    for (const args of [
      ['keygen', '--count=3'],
      ['keygen', '--count', '3'],
    ]) {
      const { code, stdout, stderr } = await spawnBin(args);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const lines = stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(() => createKeyRing(lines)).not.toThrow();
    }
  });

  it('a typo is a usage error: exit 2, one line and the usage on stderr', async () => {
    const { code, stdout, stderr } = await spawnBin(['keygen', '--cont', '3']);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(
      /^sessionkit keygen: unknown option '--cont'\n\nUsage: sessionkit keygen \[--count N\]\n/,
    );
  });

  it('no command is a usage error', async () => {
    const { code, stdout, stderr } = await spawnBin([]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/^sessionkit: missing command\n\nUsage: sessionkit <command>/);
  });
});

describe('store scans: revocation bookkeeping is not a session', () => {
  /**
   * A file store holding two server-side sessions (bob signed in, one anonymous) and, beside
   * them, the revocation bookkeeping the library writes into an ordinary store: alice's user
   * record and a denylist entry (sealed sessions, this store as their revocation store: two
   * logins, one logout) and bob's user record (his revokeAll).
   */
  async function seeded(): Promise<{ url: string; secret: string; user: string; bob: string }> {
    const url = `file:${mkdtempSync(join(dir, 'store-'))}`;
    const store = await storeFromUrl(url, { cwd: dir });
    const secret = generateSecret();
    const request = async (
      manager: SessionManager,
      act: (session: Session) => void,
      cookie?: string,
    ): Promise<string | undefined> => {
      const scope = manager.begin(cookie === undefined ? {} : { cookie });
      act(scope.session);
      return (await scope.end()).setCookie[0]?.split(';')[0];
    };
    try {
      const sealed = createSessionManager({
        store: cookieStore({ revocation: store }),
        secrets: [secret],
      });
      await request(sealed, (s) => s.login('alice'));
      const second = await request(sealed, (s) => s.login('alice'));
      await request(sealed, (s) => s.logout(), second);
      const server = createSessionManager({ store, secrets: [secret] });
      await request(server, (s) => s.login('bob'));
      await request(server, (s) => s.set('cart', [1]));
      const [bob] = await server.listSessions('bob');
      await server.revokeAll('bob', { except: [bob!.handle] });
      let user = '';
      for await (const key of store.ids!()) {
        if ((await store.get(key))?.data.startsWith('{"v":1,"g":')) user = key;
      }
      return { url, secret, user, bob: bob!.handle };
    } finally {
      await store.close();
    }
  }

  it('stats counts only sessions and reports the bookkeeping apart; show labels it; reseal skips it', async () => {
    const { url, secret, user, bob } = await seeded();
    const stats = await spawnBin(['stats', '--json', '--store', url]);
    expect({ code: stats.code, stderr: stats.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stats.stdout)).toMatchObject({
      sessions: 2,
      signedIn: 1,
      anonymous: 1,
      users: 1,
      topUsers: [{ userId: 'bob', sessions: 1 }],
      unreadable: 0,
      bookkeeping: { users: 2, denied: 1 },
    });
    const text = (await spawnBin(['stats', '--store', url])).stdout;
    expect(text).toContain('\nsessions    2 live: 1 signed in, 1 anonymous\n');
    expect(text).toContain('\nrevocation  2 user records, 1 denylist entry (not sessions)\n');
    expect(text).not.toContain('unreadable');

    const shown = await spawnBin(['show', '--store', url, '--', user]);
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
    expect(shown.stdout).toContain(
      '\nrecord      per-user revocation record (generation, sealed sessions listed), not a session\n',
    );
    expect(shown.stdout).not.toContain('SESSION_SECRETS');
    const listed = JSON.parse(
      (await spawnBin(['list', '--user', 'bob', '--json', '--store', url])).stdout,
    );
    expect(listed.map((s: { handle: string }) => s.handle)).toEqual([bob]);

    const env = { SESSION_SECRETS: `${generateSecret()},${secret}` };
    const resealed = await spawnBin(['reseal', '--plaintext', '--json', '--store', url], env);
    expect({ code: resealed.code, stderr: resealed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(resealed.stdout)).toMatchObject({
      scanned: 5,
      resealed: 2,
      skipped: 3,
      unreadable: 0,
    });
  });
});
