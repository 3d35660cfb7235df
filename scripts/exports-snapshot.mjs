// Exported-names snapshot: for every subpath of package.json "exports", the names a user can
// import at run time (Object.keys of the module, from the built dist/) and the names its .d.ts
// exports (TypeScript's checker.getExportsOfModule on the built declarations), compared with the
// checked-in scripts/exports.snapshot.json. A difference fails with a per-name diff, so a renamed
// or dropped export is a visible, reviewed change; `--update` rewrites the snapshot.
//
// Usage: npm run build && node scripts/exports-snapshot.mjs [--update]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const snapshotPath = join(root, 'scripts', 'exports.snapshot.json');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const update = process.argv.includes('--update');

const subpaths = Object.entries(pkg.exports).filter(([subpath]) => subpath !== './package.json');
for (const [subpath, entry] of subpaths) {
  if (!existsSync(join(root, entry.types))) {
    console.error(`exports snapshot: ${subpath}: ${entry.types} is not built (npm run build)`);
    process.exit(1);
  }
}

// One program over every exported declaration file, resolved as a user's nodenext project would.
const program = ts.createProgram({
  rootNames: subpaths.map(([, entry]) => join(root, entry.types)),
  options: {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    strict: true,
    noEmit: true,
  },
});
const checker = program.getTypeChecker();

const actual = {};
for (const [subpath, entry] of subpaths) {
  const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  const runtime = Object.keys(await import(specifier)).sort();
  const source = program.getSourceFile(join(root, entry.types));
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) {
    console.error(`exports snapshot: ${entry.types} is not a module`);
    process.exit(1);
  }
  const types = checker
    .getExportsOfModule(moduleSymbol)
    .map((symbol) => symbol.getName())
    .sort();
  actual[subpath] = { runtime, types };
}

const text = `${JSON.stringify(actual, null, 2)}\n`;
if (update) {
  writeFileSync(snapshotPath, text);
  console.log(
    `exports snapshot: wrote ${subpaths.length} subpaths to scripts/exports.snapshot.json`,
  );
  process.exit(0);
}

if (!existsSync(snapshotPath)) {
  console.error('exports snapshot: scripts/exports.snapshot.json is missing; run with --update');
  process.exit(1);
}
const expected = JSON.parse(readFileSync(snapshotPath, 'utf8'));
const lines = [];
for (const subpath of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
  const before = expected[subpath];
  const after = actual[subpath];
  if (before === undefined) lines.push(`+ ${subpath} (new subpath)`);
  if (after === undefined) lines.push(`- ${subpath} (subpath removed)`);
  for (const kind of ['runtime', 'types']) {
    const was = new Set(before?.[kind] ?? []);
    const now = new Set(after?.[kind] ?? []);
    for (const name of now) if (!was.has(name)) lines.push(`+ ${subpath} ${kind}: ${name}`);
    for (const name of was) if (!now.has(name)) lines.push(`- ${subpath} ${kind}: ${name}`);
  }
}

if (lines.length > 0) {
  console.error(
    `exports snapshot: the package's exported names differ from scripts/exports.snapshot.json ` +
      `(+ added, - removed):\n${lines.join('\n')}\n` +
      'If the change is intended: node scripts/exports-snapshot.mjs --update, and commit the snapshot.',
  );
  process.exit(1);
}
console.log(
  `exports snapshot: ${subpaths.length} subpaths match (runtime and .d.ts names of each export)`,
);
