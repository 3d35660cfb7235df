/**
 * Guard: `sessionkit/adapters/hono` and `sessionkit/adapters/fetch` say "web-standard APIs only,
 * no `node:http`" — they must load on runtimes without it (Deno, Bun, workers, edge runtimes).
 *
 * Two proofs:
 * 1. Statically: the import graph of `src/adapters/hono.ts` and `src/adapters/fetch.ts` — every
 *    import that survives compilation (`import type` / `export type` are erased; under
 *    `verbatimModuleSyntax` an `import { type X }` is kept) — reaches no Node builtin except
 *    those in {@link ALLOWED_BUILTINS}.
 * 2. At runtime: the entry points are built with `tsconfig.build.json` (as `dist/` is, into a
 *    temporary folder so a stale `dist/` cannot answer) and loaded in a child process whose
 *    module loader refuses `node:http`; the node adapter is the control that the refusal bites.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB_ENTRIES = ['src/adapters/hono.ts', 'src/adapters/fetch.ts'];

/**
 * The Node builtins a web adapter's graph may reach. Only `node:crypto`: the session manager the
 * adapter is given (`sessionkit` → `core/keys.ts`, `core/codec.ts`) needs it anyway, and Bun,
 * Deno and Cloudflare Workers (`nodejs_compat`) provide it. `node:http`, `node:net`, `node:tls`,
 * `node:fs`, `node:stream` and the rest are refused: edge runtimes lack them.
 */
const ALLOWED_BUILTINS: ReadonlySet<string> = new Set(['node:crypto']);

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** One kept (value) import of a source file. */
interface Edge {
  from: string;
  specifier: string;
}

/** The import/export specifiers of `file` that survive compilation. */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause?.isTypeOnly === true) continue;
      found.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined) {
      if (statement.isTypeOnly) continue;
      found.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      !statement.isTypeOnly &&
      ts.isExternalModuleReference(statement.moduleReference)
    ) {
      found.push((statement.moduleReference.expression as ts.StringLiteral).text);
    }
  }
  return found;
}

/** Every source file reached from `entries` and every edge that leaves the source tree. */
function walk(entries: string[]): { files: string[]; external: Edge[] } {
  const seen = new Set<string>();
  const external: Edge[] = [];
  const queue = entries.map((entry) => join(ROOT, entry));
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of valueImports(file)) {
      if (!specifier.startsWith('.')) {
        external.push({ from: relative(ROOT, file), specifier });
        continue;
      }
      // NodeNext: sources import `./x.js`, which is `./x.ts` before the build.
      queue.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
    }
  }
  return { files: [...seen].map((f) => relative(ROOT, f)).sort(), external };
}

/** Is `specifier` a Node builtin (`node:http`, or `http` without the scheme)? */
function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0] ?? '');
}

function normalized(specifier: string): string {
  return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
}

describe('web adapters: static import graph', () => {
  for (const entry of WEB_ENTRIES) {
    it(`${entry} reaches no Node builtin beyond ${[...ALLOWED_BUILTINS].join(', ')}`, () => {
      const { files, external } = walk([entry]);
      // The walker really walked: the entry and its shared helpers are in the graph.
      expect(files).toContain(entry);
      expect(files).toContain('src/core/errors.ts');
      const refused = external
        .filter((edge) => isBuiltin(edge.specifier))
        .filter((edge) => !ALLOWED_BUILTINS.has(normalized(edge.specifier)))
        .map((edge) => `${edge.from} → ${edge.specifier}`);
      expect(refused).toEqual([]);
    });
  }

  it('the walker sees node:http where it is imported (the node adapter)', () => {
    const { external } = walk(['src/adapters/node.ts']);
    expect(external.map((edge) => normalized(edge.specifier))).toContain('node:http');
  });
});

/** A loader hook that makes `node:http` (and `http`) unimportable, as on an edge runtime. */
const REFUSE_HTTP_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier === 'node:http' || specifier === 'http') {
    throw new Error('node:http is not available on this runtime');
  }
  return next(specifier, context);
}
`;

const REGISTER = `
import { register } from 'node:module';
register(new URL('./refuse-http.mjs', import.meta.url));
`;

let outDir = '';

/** Build the graph of `entries` into `outDir` with the compiler and `tsconfig.build.json`. */
function build(entries: string[]): void {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.build.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const files = walk(entries).files.map((file) => join(ROOT, file));
  // Type checking is `npm run typecheck`'s job; here only the emitted JavaScript matters, so the
  // compiler reads just the graph's own files (no lib, no @types, no package typings).
  const program = ts.createProgram(files, {
    ...options,
    outDir,
    noCheck: true,
    noLib: true,
    noResolve: true,
    types: [],
    declaration: false,
    declarationMap: false,
    sourceMap: false,
  });
  const { emitSkipped, diagnostics } = program.emit();
  if (emitSkipped) throw new Error(ts.formatDiagnostics(diagnostics, ts.createCompilerHost({})));
}

/** Import `module` in a child process where `node:http` cannot be imported. */
function loadWithoutHttp(module: string): Promise<{ ok: boolean; output: string }> {
  const url = pathToFileURL(join(outDir, module)).href;
  const script = `const m = await import(${JSON.stringify(url)}); console.log(Object.keys(m).sort().join(','));`;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(outDir, 'register.mjs')).href,
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: outDir },
      (error, stdout, stderr) => done({ ok: error === null, output: `${stdout}${stderr}` }),
    );
  });
}

describe('web adapters: loaded where node:http is missing', () => {
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'sessionkit-web-safe-'));
    // The emitted `.js` files are ES modules, as in the package.
    writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(outDir, 'refuse-http.mjs'), REFUSE_HTTP_HOOK);
    writeFileSync(join(outDir, 'register.mjs'), REGISTER);
    build([...WEB_ENTRIES, 'src/adapters/node.ts']);
  });
  afterAll(() => {
    if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
  });

  it('the control: the node adapter fails to load there', async () => {
    const result = await loadWithoutHttp('adapters/node.js');
    expect(result.ok).toBe(false);
    expect(result.output).toContain('node:http is not available on this runtime');
  });

  for (const [module, exports] of [
    ['adapters/hono.js', 'csrfMiddleware,getSession,sessionMiddleware'],
    ['adapters/fetch.js', 'createSessionScope,csrfMiddleware,getSession,withSession'],
  ] as const) {
    it(`${module} loads and exports its API`, async () => {
      const result = await loadWithoutHttp(module);
      expect(result.output.trim()).toBe(exports);
      expect(result.ok).toBe(true);
    });
  }
});
