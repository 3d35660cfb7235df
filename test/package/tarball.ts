/**
 * Helpers for the installed-package smoke test: build the package privately (dist/ in the work
 * tree is shared with other work), pack it with npm as it would be published, install the tarball
 * into scratch projects offline, and type-check files there with the TypeScript compiler API.
 */

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL('../../', import.meta.url));

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The result of a finished child process; never rejects for a non-zero exit code. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// npm hands its own settings (npm_config_*, npm_package_*) to scripts it runs; the scratch
// projects must see a plain environment, as a user's shell would.
const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
);

/**
 * Run `command` in `cwd`, with `env` added to a plain environment; resolves with the exit code
 * and output (a spawn failure rejects).
 */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: { ...CLEAN_ENV, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}

async function mustRun(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** The packed tarball and the files npm put in it. */
export interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
}

/**
 * Stage the package in `dir/stage` (package.json, every `files` entry but dist/, and dist/ built
 * fresh from src/ with tsconfig.build.json), then `npm pack` it into `dir`. Throws if a `files`
 * entry does not exist or the build fails.
 */
export async function buildAndPack(dir: string): Promise<Packed> {
  const stage = join(dir, 'stage');
  mkdirSync(stage, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of pkg.files) {
    if (entry === 'dist') continue;
    if (!existsSync(join(ROOT, entry)))
      throw new Error(`package.json files: ${entry} does not exist`);
    cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
  }
  await mustRun(
    process.execPath,
    [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')],
    ROOT,
  );
  const out = await mustRun('npm', ['pack', '--json', '--pack-destination', dir], stage);
  const [packed] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
  return { tarball: join(dir, packed.filename), files: packed.files.map((f) => f.path).sort() };
}

/** Create an ESM project in `dir` and install `tarball` into it offline, as a user would. */
export async function installInto(dir: string, tarball: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'sessionkit-smoke', private: true, type: 'module' })}\n`,
  );
  await mustRun('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], dir);
}

/**
 * A scratch project in `dir`: `package.json` (ESM), a copy of the installed sessionkit from
 * `installed`, and a symlink to the repository's copy of each package in `links` (so framework
 * types resolve without a network install).
 */
export function scratchProject(dir: string, installed: string, links: readonly string[]): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  cpSync(join(installed, 'node_modules', 'sessionkit'), join(dir, 'node_modules', 'sessionkit'), {
    recursive: true,
  });
  for (const name of links) {
    const target = join(ROOT, 'node_modules', name);
    if (!existsSync(target)) throw new Error(`${name} is not installed in the repository`);
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(target, join(dir, 'node_modules', name), 'dir');
  }
}

/** One type error, with the file (relative to the project) and 0-based line where it is. */
export interface TypeProblem {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/**
 * Type-check `files` (paths relative to `dir`) with `compilerOptions` written as `dir`'s
 * tsconfig.json (so `npx tsc -p <dir>` reproduces a failure), never with `skipLibCheck`.
 * Resolves every diagnostic, in declaration files too.
 */
export function typeCheck(
  dir: string,
  files: readonly string[],
  compilerOptions: Record<string, unknown>,
): TypeProblem[] {
  const configPath = join(dir, 'tsconfig.json');
  writeFileSync(configPath, `${JSON.stringify({ compilerOptions, files }, null, 2)}\n`);
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined || config.errors.length > 0) throw new Error('bad tsconfig.json');
  if (config.options.skipLibCheck === true) throw new Error('skipLibCheck is not allowed here');
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    if (d.file === undefined || d.start === undefined) return { file: '', line: 0, text };
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const file = d.file.fileName.startsWith(dir)
      ? d.file.fileName.slice(dir.length + 1)
      : d.file.fileName;
    return { file, line, text };
  });
}
