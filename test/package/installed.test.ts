/**
 * The package as a user gets it: built from src/, packed by npm, installed from the tarball into
 * a fresh project offline with only its declared dependencies (no optional peers). Then its bin
 * through npx, every export subpath, the README's TypeScript blocks as written, and web apps
 * without Node's types — each under strict nodenext settings and without `skipLibCheck`.
 * Each type check writes its scratch project's tsconfig.json; with `KEEP_SMOKE_DIR=1` the temp
 * directory is kept (and named on stderr), so `npx tsc -p <dir>/readme` reproduces a failure.
 *
 * About 40 s of CPU in all (build, pack, install, two npx runs, two type-checked programs); the
 * timeouts are generous because a machine shared by many runs stretches that wall time tenfold.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeLineOf, readmePrograms } from './readme-blocks.js';
import {
  buildAndPack,
  installInto,
  type Packed,
  ROOT,
  run,
  scratchProject,
  typeCheck,
} from './tarball.js';

/** What a strict user project compiles with; each check adds its `types` and `lib`. */
const STRICT = {
  target: 'ES2022',
  module: 'nodenext',
  moduleResolution: 'nodenext',
  moduleDetection: 'force',
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  noEmit: true,
};

const SNAPSHOT = JSON.parse(
  readFileSync(join(ROOT, 'scripts', 'exports.snapshot.json'), 'utf8'),
) as Record<string, { runtime: string[] }>;

let tmp = '';
let app = '';
let packed: Packed = { tarball: '', files: [] };

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sessionkit-installed-'));
  packed = await buildAndPack(tmp);
  app = join(tmp, 'app');
  await installInto(app, packed.tarball);
}, 600_000);

afterAll(() => {
  if (process.env.KEEP_SMOKE_DIR === '1') process.stderr.write(`package smoke test kept ${tmp}\n`);
  else if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('the package installed from its tarball', () => {
  it('ships dist/ without source maps, LICENSE, README and the user docs, nothing else', () => {
    const top = [...new Set(packed.files.map((f) => f.split('/')[0]))].sort();
    expect(top).toEqual(['LICENSE', 'README.md', 'dist', 'docs', 'package.json']);
    expect(packed.files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(packed.files.filter((f) => f.startsWith('docs/benchmarks'))).toEqual([]);
    expect(packed.files).toEqual(expect.arrayContaining(['docs/security.md', 'dist/index.d.ts']));
  });

  it('installs no other package: optional peers stay uninstalled', () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'));
    expect(installed).toEqual(['sessionkit']);
  });

  it('npx sessionkit --help prints the usage through the installed bin', async () => {
    const result = await run('npx', ['--offline', 'sessionkit', '--help'], app);
    expect(result.stdout).toMatch(/^Usage: sessionkit/);
    expect(result.code).toBe(0);
  }, 300_000);

  it('npx sessionkit keygen prints a secret that the installed package accepts', async () => {
    const result = await run('npx', ['--offline', 'sessionkit', 'keygen'], app);
    expect(result.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.code).toBe(0);
    const accept = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        // The secret goes inside the code, not after it: a secret that starts with '-' (1 in 64)
        // would be read by node as an option.
        `import { createKeyRing } from 'sessionkit'; createKeyRing([${JSON.stringify(result.stdout.trim())}]);`,
      ],
      app,
    );
    expect(accept).toEqual({ code: 0, stdout: '', stderr: '' });
  }, 300_000);

  it('imports every export subpath with the runtime names of the exports snapshot', async () => {
    writeFileSync(
      join(app, 'imports.mjs'),
      `import { readFileSync } from 'node:fs';
const { exports } = JSON.parse(readFileSync('node_modules/sessionkit/package.json', 'utf8'));
const names = {};
for (const subpath of Object.keys(exports).filter((s) => s !== './package.json')) {
  const specifier = subpath === '.' ? 'sessionkit' : 'sessionkit/' + subpath.slice(2);
  names[subpath] = Object.keys(await import(specifier)).sort();
}
console.log(JSON.stringify(names));
`,
    );
    const result = await run(process.execPath, ['imports.mjs'], app);
    expect(result.stderr).toBe('');
    const expected = Object.fromEntries(
      Object.entries(SNAPSHOT).map(([subpath, { runtime }]) => [subpath, runtime]),
    );
    expect(JSON.parse(result.stdout)).toEqual(expected);
  }, 300_000);

  it('type-checks every TypeScript block of the README as written', () => {
    const programs = readmePrograms(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(programs.length).toBeGreaterThanOrEqual(8);
    const dir = join(tmp, 'readme');
    const imported = packagesImportedBy(programs.map((p) => p.code));
    scratchProject(dir, app, ['@types/node', '@types/content-disposition', ...imported]);
    const files = programs.map((program) => {
      const file = `readme-line-${program.line}.ts`;
      writeFileSync(join(dir, file), `${program.code}\n`);
      return file;
    });
    const problems = typeCheck(dir, files, {
      ...STRICT,
      lib: ['ES2023'],
      types: ['node'],
      paths: KOA_CONTENT_DISPOSITION,
    });
    const located = problems.map(({ file, line, text }) => {
      const program = programs[files.indexOf(file)];
      return program === undefined
        ? `${file}:${line + 1} ${text}`
        : `README.md:${readmeLineOf(program, line)} ${text}`;
    });
    expect(located).toEqual([]);
  }, 600_000);

  it('type-checks a Hono app and a fetch app without @types/node', () => {
    const dir = join(tmp, 'web');
    scratchProject(dir, app, ['hono']);
    writeFileSync(join(dir, 'hono-app.ts'), HONO_APP);
    writeFileSync(join(dir, 'fetch-app.ts'), FETCH_APP);
    const problems = typeCheck(dir, ['hono-app.ts', 'fetch-app.ts'], {
      ...STRICT,
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      types: [],
    });
    expect(problems.map(({ file, line, text }) => `${file}:${line + 1} ${text}`)).toEqual([]);
  }, 600_000);
});

// @types/koa imports `content-disposition` for its `Options` type. In a Koa project that resolves
// to koa's content-disposition 1 (untyped, so @types/content-disposition); in this repository
// express 5's content-disposition 2 is hoisted, ships its own types without `Options`, and fails
// @types/koa's lib check. Resolve it as a Koa project does.
const KOA_CONTENT_DISPOSITION = {
  'content-disposition': ['./node_modules/@types/content-disposition/index.d.ts'],
};

/** Packages (and their `@types/…` where the repository has them) that `sources` import. */
function packagesImportedBy(sources: readonly string[]): string[] {
  const names = new Set<string>();
  for (const source of sources) {
    for (const [, specifier] of source.matchAll(/\bfrom\s+'([^']+)'|\bimport\s+'([^']+)'/g)) {
      if (specifier === undefined || specifier.startsWith('.') || specifier.startsWith('node:')) {
        continue;
      }
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
      if (name === 'sessionkit') continue;
      names.add(name);
      const types = `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
      if (readdirSync(join(ROOT, 'node_modules', '@types')).includes(types.slice(7))) {
        names.add(types);
      }
    }
  }
  return [...names].sort();
}

// A web-standard runtime (Deno, Bun, workers): DOM's Request/Response, no Node globals or types.
const HONO_APP = `import { Hono } from 'hono';
import { createSessionManager } from 'sessionkit';
import { type SessionEnv, sessionMiddleware } from 'sessionkit/adapters/hono';
import { memoryStore } from 'sessionkit/stores/memory';

declare const SECRET: string;
interface AppData { counter: number }

const manager = createSessionManager<AppData>({ store: memoryStore(), secrets: [SECRET] });
const app = new Hono<SessionEnv<AppData>>();
app.use(sessionMiddleware(manager));
app.post('/counter', async (c) => {
  const counter = await c.get('session').update('counter', (n) => (n ?? 0) + 1);
  return c.json({ counter });
});
export default app;
`;

const FETCH_APP = `import { createSessionManager } from 'sessionkit';
import { createSessionScope, withSession } from 'sessionkit/adapters/fetch';
import { memoryStore } from 'sessionkit/stores/memory';

declare const SECRET: string;
interface AppData { counter: number }

const manager = createSessionManager<AppData>({ store: memoryStore(), secrets: [SECRET] });
export const POST: (request: Request) => Promise<Response> = withSession(
  manager,
  async (_request, session) => Response.json({ counter: await session.update('counter', (n) => (n ?? 0) + 1) }),
);
export async function loader(request: Request): Promise<Response> {
  const scope = createSessionScope(manager, request);
  const counter = (await scope.session.get('counter')) ?? 0;
  return scope.apply(Response.json({ counter }));
}
`;
