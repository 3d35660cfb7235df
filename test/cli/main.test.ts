/**
 * The `sessionkit` CLI in-process: `main(argv)` → exact stdout, stderr and exit code.
 * `bin.test.ts` runs the built executable the way npm installs it.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/cli/args.js';
import { COMMANDS, commandUsage, globalUsage, main } from '../../src/cli/main.js';
import { createKeyRing } from '../../src/index.js';

const GLOBAL_HELP = `Usage: sessionkit <command> [options]

Commands:
  keygen  print fresh secrets for the \`secrets\` option

Options:
  -h, --help     show help (after a command: its help)
      --version  print the version

Run 'sessionkit <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 usage error.`;

const KEYGEN_HELP = `Usage: sessionkit keygen [--count N]

Print N fresh secrets, one per line: 32 random bytes from the CSPRNG, base64url
(43 characters). Put one in SESSION_SECRET; list older ones after it to rotate.

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
    expect(globalUsage(commands)).toContain('  echo    print the words\n');
    expect(commandUsage('echo', echo)).toContain('      --upper  in upper case\n');
    expect((await run(['keygen', '--upper'], commands)).code).toBe(2);
  });
});
