// Package check: the exports map and the source files agree in both directions, every exported
// subpath imports from dist/ with a value export, the web adapters' built files never reach a
// node:http-family module through their static imports, the bin is built, and the packed tarball
// passes publint (strict) and are-the-types-wrong (ESM-only profile). Both tools run offline on
// the local tarball. Run after `npm run build` (as `npm run test:package` does).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const problems = [];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}

// Public modules: src/index.ts plus every non-private file of src/stores and src/adapters
// (and any other top-level public folder). A leading `_` marks a private module.
const publicSources = walk(join(root, 'src'))
  .map((f) => relative(join(root, 'src'), f).replaceAll('\\', '/'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .filter((f) => !f.startsWith('core/') && !f.startsWith('cli/'))
  .filter((f) => !f.split('/').some((part) => part.startsWith('_')));

const expected = new Map(
  publicSources.map((f) => {
    const noExt = f.replace(/\.ts$/, '');
    const subpath = noExt === 'index' ? '.' : `./${noExt.replace(/\/index$/, '')}`;
    return [subpath, `./dist/${noExt}.js`];
  }),
);

for (const [subpath, target] of expected) {
  const entry = pkg.exports[subpath];
  if (!entry) problems.push(`missing export for src file: ${subpath}`);
  else if (entry.default !== target)
    problems.push(`export ${subpath} points at ${entry.default}, expected ${target}`);
  else if (entry.types !== target.replace(/\.js$/, '.d.ts'))
    problems.push(`export ${subpath} has wrong types path`);
}
for (const subpath of Object.keys(pkg.exports)) {
  if (subpath === './package.json') continue;
  if (subpath.includes('*')) problems.push(`wildcard export ${subpath}: exports must be explicit`);
  if (!expected.has(subpath)) problems.push(`export ${subpath} has no public source file`);
}

for (const [subpath, entry] of Object.entries(pkg.exports)) {
  if (subpath === './package.json') continue;
  for (const file of [entry.default, entry.types]) {
    if (!existsSync(join(root, file))) problems.push(`${subpath}: ${file} was not built`);
  }
  const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  try {
    const mod = await import(specifier);
    if (Object.keys(mod).length === 0) problems.push(`${specifier} exports nothing`);
  } catch (error) {
    problems.push(`import ${specifier} failed: ${error.message}`);
  }
}

// `sessionkit/adapters/hono` and `sessionkit/adapters/fetch` promise web-standard APIs only: the
// built files reachable from them through static `import`/`export … from` (dynamic `import()` is
// not followed) must not name an HTTP or socket module, which edge runtimes lack.
const WEB_ENTRIES = ['dist/adapters/hono.js', 'dist/adapters/fetch.js'];
const NODE_HTTP = new Set(
  ['http', 'https', 'http2', 'net'].flatMap((name) => [name, `node:${name}`]),
);

/** The specifiers of `file`'s static imports and re-exports. */
function staticImports(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  return source.statements
    .filter((s) => ts.isImportDeclaration(s) || (ts.isExportDeclaration(s) && s.moduleSpecifier))
    .map((s) => s.moduleSpecifier.text);
}

for (const entry of WEB_ENTRIES) {
  const start = join(root, entry);
  if (!existsSync(start)) continue; // reported above as not built
  const via = new Map([[start, [entry]]]); // file → the import chain that reached it
  for (const [file, chain] of via) {
    for (const specifier of staticImports(file)) {
      if (NODE_HTTP.has(specifier)) {
        problems.push(`${entry} reaches ${specifier}: ${[...chain, specifier].join(' → ')}`);
      } else if (specifier.startsWith('.')) {
        const next = resolve(dirname(file), specifier);
        if (!via.has(next)) via.set(next, [...chain, relative(root, next)]);
      }
    }
  }
}

// The CLI ships as the package bin, built and runnable.
for (const [name, target] of Object.entries(pkg.bin ?? {})) {
  if (!existsSync(join(root, target))) problems.push(`bin ${name}: ${target} was not built`);
  else if (!readFileSync(join(root, target), 'utf8').startsWith('#!/usr/bin/env node')) {
    problems.push(`bin ${name}: ${target} has no node shebang`);
  }
}

// The tarball as npm would publish it, linted by publint and are-the-types-wrong.
const packDir = mkdtempSync(join(tmpdir(), 'sessionkit-check-'));
try {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
      cwd: root,
      encoding: 'utf8',
    }),
  );
  const tarball = join(packDir, packed.filename);
  for (const [tool, args] of [
    ['publint', ['run', tarball, '--strict']],
    ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-color']],
  ]) {
    try {
      execFileSync(join(root, 'node_modules', '.bin', tool), args, { cwd: root, stdio: 'pipe' });
    } catch (error) {
      problems.push(`${tool} failed:\n${error.stdout}${error.stderr}`);
    }
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`package check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `package check: ${Object.keys(pkg.exports).length - 1} subpaths exported, built and importable; ${WEB_ENTRIES.join(' and ')} reach no node:http/https/http2/net; publint and attw (esm-only) pass`,
);
