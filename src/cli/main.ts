#!/usr/bin/env node
/**
 * The `sessionkit` command: argv → command → exit code. Commands are pure functions in
 * `commands/`; this file only parses arguments and prints.
 *
 * Exit codes: 0 success, 1 the command failed, 2 usage error.
 */

import { pathToFileURL } from 'node:url';
import { keygen } from './commands/keygen.js';

const USAGE = `Usage: sessionkit <command> [options]

Commands:
  keygen [--count N]   print N fresh secrets (32 random bytes, base64url) for the \`secrets\` option

Options:
  -h, --help           show this help`;

/** Run the CLI with `argv` (without `node` and the script). Resolves the exit code. */
export async function main(
  argv: readonly string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    switch (command) {
      case 'keygen': {
        const count = readNumber(rest, '--count');
        for (const secret of keygen(count === undefined ? {} : { count })) out(secret);
        return 0;
      }
      default:
        err(`sessionkit: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    err(`sessionkit ${command}: ${(error as Error).message}`);
    return error instanceof RangeError ? 2 : 1;
  }
}

function readNumber(args: readonly string[], flag: string): number | undefined {
  const index = args.indexOf(flag);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value)) throw new RangeError(`${flag} needs a number.`);
  return value;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
