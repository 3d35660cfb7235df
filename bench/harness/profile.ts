/**
 * `npm run bench -- --profile[=<id>]`: run one contender under `node --cpu-prof` for scenarios B
 * and C (scenario A too; one child per scenario, so each profile holds one scenario) and print the functions
 * with the most self time — overall, by origin, and those in sessionkit's own `src/`.
 */

import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild } from './children.js';
import { createSessions, runLoad, type Scenario } from './load.js';
import { type Contender, type RunConfig, transportOf } from './plan.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Profile `contender` under scenarios A, B and C; writes `.bench-out/profile-<id>-<S>.md`. */
export async function profile(
  contender: Contender,
  env: Record<string, string>,
  config: RunConfig,
  outDir: string,
  root: string,
): Promise<void> {
  const seconds = config.quick ? 4 : 12;
  for (const scenario of ['A', 'B', 'C'] as const satisfies readonly Scenario[]) {
    const dir = join(outDir, `profile-${contender.id}-${scenario}`);
    rmSync(dir, { recursive: true, force: true });
    const child = await startChild(contender.file, env, ['--cpu-prof', '--cpu-prof-dir', dir]);
    try {
      const credentials = await createSessions(child.port, config.sessions, transportOf(contender));
      await runLoad(child.port, scenario, credentials, config.connections, 2);
      const load = await runLoad(child.port, scenario, credentials, config.connections, seconds);
      process.stdout.write(
        `${contender.id} ${scenario}: ${(load.requests.total / load.duration).toFixed(0)} req/s under --cpu-prof\n`,
      );
    } finally {
      await stopChild(child.pid);
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
    const summary = summarize(
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile,
      root,
      `${contender.id}, scenario ${scenario}`,
    );
    writeFileSync(join(outDir, `profile-${contender.id}-${scenario}.md`), summary);
    process.stdout.write(`${summary}\n(profile: ${join(dir, file)})\n\n`);
  }
}

function summarize(profile: CpuProfile, root: string, title: string): string {
  const total = profile.samples.length;
  const perSample = (profile.endTime - profile.startTime) / Math.max(1, total) / 1000;
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const byFunction = new Map<string, { hits: number; origin: string }>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = counts.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(url, functionName, root);
    const where = url === '' ? '' : ` ${shortUrl(url, root)}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    const entry = byFunction.get(key) ?? { hits: 0, origin };
    entry.hits += hits;
    byFunction.set(key, entry);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits);
  }
  const pct = (hits: number): string => `${((100 * hits) / total).toFixed(1)} %`;
  const ms = (hits: number): string => `${(hits * perSample).toFixed(0)} ms`;
  const rows = [...byFunction.entries()].sort((a, b) => b[1].hits - a[1].hits);
  const lines = [
    `## CPU profile: ${title}`,
    '',
    `${total} samples (${(perSample * 1000).toFixed(0)} µs each), whole process lifetime.`,
    '',
    '| self time by origin | share |',
    '|---|---:|',
    ...[...byOrigin.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([origin, hits]) => `| ${origin} | ${pct(hits)} |`),
    '',
    '| top self time, all code | origin | share | time |',
    '|---|---|---:|---:|',
    ...rows
      .slice(0, 20)
      .map(([name, e]) => `| \`${name}\` | ${e.origin} | ${pct(e.hits)} | ${ms(e.hits)} |`),
    '',
    '| top self time, sessionkit (its compiled `src/`) | share | time |',
    '|---|---:|---:|',
    ...rows
      .filter(([, e]) => e.origin === 'sessionkit')
      .slice(0, 15)
      .map(([name, e]) => `| \`${name}\` | ${pct(e.hits)} | ${ms(e.hits)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

function originOf(url: string, functionName: string, root: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (modules?.[1] !== undefined) return modules[1];
  // The harness's private build of src/ (.bench-out/dist), or src/ itself through tsx.
  if (path.startsWith(join(root, 'src')) || path.startsWith(join(root, '.bench-out', 'dist'))) {
    return 'sessionkit';
  }
  if (path.startsWith(join(root, 'bench'))) return 'bench contender';
  return 'other';
}

function shortUrl(url: string, root: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(`${root}/`, '')
    .replace(/^.*node_modules\//, '');
}
