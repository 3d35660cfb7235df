/**
 * The `sessionkit` CLI in-process: `main(argv)` → exact stdout, stderr and exit code.
 * `bin.test.ts` runs the built executable the way npm installs it.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/cli/args.js';
import { COMMANDS, commandUsage, globalUsage, main } from '../../src/cli/main.js';
import { renderProgress, terminalProgress } from '../../src/cli/progress.js';
import { createKeyRing } from '../../src/index.js';

const GLOBAL_HELP = `Usage: sessionkit <command> [options]

Commands:
  keygen   print fresh secrets for the \`secrets\` option
  migrate  create the SQL tables of the store, or print their DDL
  prune    delete expired sessions, index entries and lock rows
  list     list a user's sessions
  show     show one session by its handle
  revoke   revoke one or all of a user's sessions
  stats    count sessions: users, sizes, ages, idle times, lock rows
  reseal   re-encrypt every session under the primary secret

Options:
  -h, --help     show help (after a command: its help)
      --version  print the version

Run 'sessionkit <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 usage or configuration error.`;

const KEYGEN_HELP = `Usage: sessionkit keygen [--count N]

Print N fresh secrets, one per line: 32 random bytes from the CSPRNG, base64url
(43 characters). Put one first in SESSION_SECRETS; keep older ones after it to rotate.

Options:
      --count N  how many, 1 to 100 (default 1)
  -h, --help     show this help`;

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** Run `main` and collect what it writes, as the bin would (one newline per call). */
async function run(argv: string[], commands?: Record<string, Command>) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    out: (text) => {
      stdout += `${text}\n`;
    },
    err: (text) => {
      stderr += `${text}\n`;
    },
    ...(commands === undefined ? {} : { commands }),
  });
  return { code, stdout, stderr };
}

describe('sessionkit CLI', () => {
  it('keygen prints secrets the key ring accepts', async () => {
    for (const argv of [
      ['keygen', '--count', '3'],
      ['keygen', '--count=3'],
    ]) {
      const { code, stdout, stderr } = await run(argv);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      const lines = stdout.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(3);
      expect(new Set(lines).size).toBe(3);
      for (const secret of lines) expect(secret).toMatch(SECRET);
      expect(() => createKeyRing(lines)).not.toThrow();
    }
  });

  it('keygen prints one secret by default, and up to 100', async () => {
    const one = await run(['keygen']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const hundred = await run(['keygen', '--count', '100']);
    expect(hundred.code).toBe(0);
    expect(new Set(hundred.stdout.trim().split('\n')).size).toBe(100);
  });

  it.each([['--help'], ['-h'], ['help']])('%s prints the global help on stdout', async (flag) => {
    expect(await run([flag])).toEqual({ code: 0, stdout: `${GLOBAL_HELP}\n`, stderr: '' });
  });

  it.each([
    [['keygen', '--help']],
    [['keygen', '-h']],
    [['keygen', '--count', '5', '--help']],
    [['help', 'keygen']],
    [['--help', 'keygen']],
  ])('%j prints the keygen help on stdout', async (argv) => {
    expect(await run(argv)).toEqual({ code: 0, stdout: `${KEYGEN_HELP}\n`, stderr: '' });
  });

  it('--version prints the version from package.json', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it.each([
    [[], 'sessionkit: missing command'],
    [['frobnicate'], "sessionkit: unknown command 'frobnicate'"],
    [['__proto__'], "sessionkit: unknown command '__proto__'"],
    [['help', 'frobnicate'], "sessionkit: unknown command 'frobnicate'"],
    [['help', 'keygen', 'x'], "sessionkit help: unexpected argument 'x'"],
    [['--verbose'], "sessionkit: unknown option '--verbose'"],
    [['--count', '3', 'keygen'], "sessionkit: unknown option '--count'"],
    [['--version=1'], "sessionkit: option '--version' takes no value"],
  ])('%j is a usage error with the global usage', async (argv, line) => {
    expect(await run(argv)).toEqual({
      code: 2,
      stdout: '',
      stderr: `${line}\n\n${GLOBAL_HELP}\n`,
    });
  });

  it.each([
    [['--cont', '3'], "unknown option '--cont'"],
    [['-c', '3'], "unknown option '-c'"],
    [['--count'], "option '--count' needs a value"],
    [
      ['--count', '-1'],
      "option '--count' needs a value; write --count=-1 for one starting with '-'",
    ],
    [['--help=yes'], "option '--help' takes no value"],
    [['extra'], "unexpected argument 'extra'"],
    [['--count', '0'], '--count must be an integer from 1 to 100'],
    [['--count', '101'], '--count must be an integer from 1 to 100'],
    [['--count=-1'], '--count must be an integer from 1 to 100'],
    [['--count', '1.5'], '--count must be an integer from 1 to 100'],
    [['--count', '1e1'], '--count must be an integer from 1 to 100'],
    [['--count', '0x10'], '--count must be an integer from 1 to 100'],
    [['--count', ' 3'], '--count must be an integer from 1 to 100'],
    [['--count', 'three'], '--count must be an integer from 1 to 100'],
    [['--count='], '--count must be an integer from 1 to 100'],
  ])('keygen %j is a usage error with the keygen usage', async (args, line) => {
    expect(await run(['keygen', ...args])).toEqual({
      code: 2,
      stdout: '',
      stderr: `sessionkit keygen: ${line}\n\n${KEYGEN_HELP}\n`,
    });
  });

  it('a failing command exits 1 with its message, after the lines it printed', async () => {
    // An injected command, since keygen cannot fail once its arguments are valid.
    const broken: Command = {
      synopsis: '',
      summary: 'fails',
      description: 'Fails.',
      options: {},
      async *run() {
        yield 'partial';
        throw new Error('the store is unreachable');
      },
    };
    expect(await run(['broken'], { broken })).toEqual({
      code: 1,
      stdout: 'partial\n',
      stderr: 'sessionkit broken: the store is unreachable\n',
    });
  });

  it('a new command slots in as a table entry, with its help listed', async () => {
    const echo: Command = {
      synopsis: '[--upper] <word...>',
      summary: 'print the words',
      description: 'Print each word on its own line.',
      options: { upper: { type: 'boolean', help: 'in upper case' } },
      positionals: '',
      run: ({ values, positionals }) =>
        positionals.map((w) => (values.upper === true ? w.toUpperCase() : w)),
    };
    const commands = { ...COMMANDS, echo };
    expect(await run(['echo', '--upper', 'a', 'b'], commands)).toEqual({
      code: 0,
      stdout: 'A\nB\n',
      stderr: '',
    });
    expect(globalUsage(commands)).toContain('  echo     print the words\n');
    expect(commandUsage('echo', echo)).toContain('      --upper  in upper case\n');
    expect((await run(['keygen', '--upper'], commands)).code).toBe(2);
  });
});

describe('store commands: usage', () => {
  const store = ['--store', 'memory:'];
  it.each([
    [['list', ...store], 'list', '--user is required'],
    [['revoke', '--user', 'u', ...store], 'revoke', 'give either --handle H or --all'],
    [
      ['revoke', '--user', 'u', '--all', '--handle', 'h', ...store],
      'revoke',
      'give either --handle H or --all',
    ],
    [
      ['revoke', '--user', 'u', '--handle', 'h', '--except', 'x', ...store],
      'revoke',
      '--except goes with --all',
    ],
    [['show', ...store], 'show', 'give exactly one session handle'],
    [['prune', '--batch', '0', ...store], 'prune', '--batch must be an integer from 1 to 100000'],
    [['stats'], 'stats', 'give the store with --store URL or SESSION_STORE ('],
  ])('%j is a usage error (exit 2) with the command usage', async (argv, name, line) => {
    const { code, stdout, stderr } = await run(argv);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr.startsWith(`sessionkit ${name}: ${line}`)).toBe(true);
    expect(stderr).toContain(`\n\nUsage: sessionkit ${name} `);
  });

  it('a bad store URL is one line and exit 2, never echoing the password', async () => {
    const { code, stdout, stderr } = await run([
      'stats',
      '--store',
      'postgres://u:hunter2@h/db?pool=1',
    ]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      'sessionkit stats: Unknown parameter `pool` in the postgres store URL; it accepts `table`, `poolSize`, `connectTimeout`, `ssl`, `prepare`.\n',
    );
  });

  it('reads SESSION_STORE when --store is not given', async () => {
    let stdout = '';
    const code = await main(['prune'], {
      env: { SESSION_STORE: 'memory:' },
      out: (text) => {
        stdout += `${text}\n`;
      },
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Removed 0 expired sessions from memory in [0-9.]+ s\.\n$/);
  });
});

describe('progress display', () => {
  it('draws a bar on a terminal, always the last update, and erases it at the end', () => {
    const writes: string[] = [];
    const bar = terminalProgress(
      { isTTY: true, columns: 80, write: (t) => writes.push(t) },
      'pruning',
    );
    for (let done = 0; done <= 1000; done += 10) bar!.update(done, 1000);
    bar!.end();
    expect(writes[0]).toBe(`\r${renderProgress('pruning', 0, 1000, 80)}\x1b[K`);
    expect(writes.at(-2)).toBe(`\r${renderProgress('pruning', 1000, 1000, 80)}\x1b[K`);
    expect(writes.at(-1)).toBe('\r\x1b[K');
    expect(writes.length).toBeLessThan(50); // redrawn at most every 100 ms, not per update
  });

  it('renders a bar with the percentage and counts, or a counter without a total', () => {
    expect(renderProgress('pruning', 250, 1000, 60)).toBe(
      `pruning [${'#'.repeat(8)}${'-'.repeat(25)}]   25%  250/1000`,
    );
    expect(renderProgress('pruning', 7, undefined)).toBe('pruning  7');
  });

  it('draws nothing when stderr is not a terminal', () => {
    expect(terminalProgress({ isTTY: false, write: () => true }, 'x')).toBeUndefined();
  });
});
