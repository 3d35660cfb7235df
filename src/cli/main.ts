/**
 * `sessionkit` CLI — argv → command → exit code.
 *
 * This module has no side effects: the executable is `bin.ts`, which always calls {@link main}.
 * (An entry check such as `import.meta.url === argv[1]` fails through npm's bin symlink.)
 *
 * A command is a pure function in `commands/*.ts` plus one entry in {@link COMMANDS}
 * (`commands/index.ts`); this file parses arguments, dispatches and prints. Exit codes: 0
 * success, 1 the command failed, 2 usage or configuration error (a bad store URL, a client
 * package that is not installed).
 */

import { readFileSync } from 'node:fs';
import {
  type Command,
  type CommandContext,
  type CommandOption,
  HELP_OPTION,
  parseCommandArgs,
  UsageError,
} from './args.js';
import { COMMANDS } from './commands/index.js';
import { type ProgressStream, terminalProgress } from './progress.js';
import { describeFailure } from './store.js';

export { COMMANDS };

/** Where the CLI writes; each call is one chunk of text without its final newline. */
export interface CliIo {
  /** Normal output (stdout). */
  out(text: string): void;
  /** Errors and usage after a usage error (stderr). */
  err(text: string): void;
}

/** Options of {@link main}. */
export interface MainOptions extends Partial<CliIo> {
  /**
   * The command table.
   * @default COMMANDS
   */
  commands?: Readonly<Record<string, Command>>;
  /**
   * Environment variables (`SESSION_STORE`, `SESSION_SECRETS`).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Directory relative store paths resolve against.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Where progress bars are drawn, when it is a terminal.
   * @default process.stderr
   */
  progressStream?: ProgressStream;
}

const GLOBAL_OPTIONS: Readonly<Record<string, CommandOption>> = {
  help: { type: 'boolean', short: 'h', help: 'show help (after a command: its help)' },
  version: { type: 'boolean', help: 'print the version' },
};

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/**
 * Run the CLI with `argv` (the arguments after `node` and the script). Resolves the exit code:
 * 0 success, 1 the command failed (its message on stderr), 2 usage error (one line naming the
 * problem, then the usage, on stderr). Never rejects and never calls `process.exit`.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const io: CliIo = {
    out: options.out ?? ((text) => process.stdout.write(`${text}\n`)),
    err: options.err ?? ((text) => process.stderr.write(`${text}\n`)),
  };
  const commands = options.commands ?? COMMANDS;
  const stream = options.progressStream ?? process.stderr;
  const context: CommandContext = {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    progress: (label) => terminalProgress(stream, label),
  };
  // Global options come before the command name; everything after it belongs to the command.
  const at = argv.findIndex((arg) => !arg.startsWith('-'));
  const globalArgs = at === -1 ? argv : argv.slice(0, at);
  const name = at === -1 ? undefined : argv[at];
  let global: ReturnType<typeof parseCommandArgs>;
  try {
    global = parseCommandArgs(globalArgs, GLOBAL_OPTIONS, false);
  } catch (error) {
    return usageError(io, 'sessionkit', error, globalUsage(commands));
  }
  if (global.values.version === true) {
    io.out(readVersion());
    return EXIT_OK;
  }
  if (name === 'help') {
    if (argv.length > at + 2) {
      io.err(`sessionkit help: unexpected argument '${argv[at + 2]}'\n\n${globalUsage(commands)}`);
      return EXIT_USAGE;
    }
    return help(io, commands, argv[at + 1]);
  }
  if (name === undefined) {
    if (global.values.help === true) return help(io, commands, undefined);
    io.err(`sessionkit: missing command\n\n${globalUsage(commands)}`);
    return EXIT_USAGE;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.err(`sessionkit: unknown command '${name}'\n\n${globalUsage(commands)}`);
    return EXIT_USAGE;
  }
  if (global.values.help === true) return help(io, commands, name);
  return runCommand(io, name, command, argv.slice(at + 1), context);
}

async function runCommand(
  io: CliIo,
  name: string,
  command: Command,
  args: readonly string[],
  context: CommandContext,
): Promise<number> {
  try {
    const input = parseCommandArgs(
      args,
      { ...command.options, help: HELP_OPTION },
      command.positionals !== undefined,
    );
    if (input.values.help === true) {
      io.out(commandUsage(name, command));
      return EXIT_OK;
    }
    for await (const line of await command.run({ ...input, context })) io.out(line);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      return usageError(io, `sessionkit ${name}`, error, commandUsage(name, command));
    }
    // One line, never a stack trace: a configuration error is 2, anything else 1.
    const { code, line } = describeFailure(error);
    io.err(`sessionkit ${name}: ${line}`);
    return code === 2 ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function help(
  io: CliIo,
  commands: Readonly<Record<string, Command>>,
  name: string | undefined,
): number {
  if (name === undefined) {
    io.out(globalUsage(commands));
    return EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.err(`sessionkit: unknown command '${name}'\n\n${globalUsage(commands)}`);
    return EXIT_USAGE;
  }
  io.out(commandUsage(name, command));
  return EXIT_OK;
}

function usageError(io: CliIo, prefix: string, error: unknown, usage: string): number {
  if (!(error instanceof UsageError)) throw error;
  io.err(`${prefix}: ${error.message}\n\n${usage}`);
  return EXIT_USAGE;
}

/** The text of `sessionkit --help` for `commands`. */
export function globalUsage(commands: Readonly<Record<string, Command>> = COMMANDS): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: sessionkit <command> [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    "Run 'sessionkit <command> --help' for a command's options.",
    'Exit codes: 0 success, 1 failure, 2 usage or configuration error.',
  ].join('\n');
}

/** The text of `sessionkit <name> --help`. */
export function commandUsage(name: string, command: Command): string {
  const synopsis = [`sessionkit ${name}`, command.synopsis, command.positionals ?? '']
    .filter((part) => part !== '')
    .join(' ');
  return [
    `Usage: ${synopsis}`,
    '',
    command.description,
    '',
    'Options:',
    ...optionLines({ ...command.options, help: HELP_OPTION }),
  ].join('\n');
}

function optionLines(options: Readonly<Record<string, CommandOption>>): string[] {
  const labels = Object.entries(options).map(([name, option]) => {
    const flag = option.short === undefined ? `    --${name}` : `-${option.short}, --${name}`;
    return [option.type === 'string' ? `${flag} ${option.value ?? 'VALUE'}` : flag, option.help];
  });
  const width = Math.max(...labels.map(([label]) => label!.length));
  return labels.map(([label, text]) => `  ${label!.padEnd(width)}  ${text}`);
}

// package.json sits two levels up from both src/cli/main.ts and dist/cli/main.js, in the repo
// and in an installed package alike.
function readVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version);
}
