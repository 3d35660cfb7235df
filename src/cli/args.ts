/**
 * `sessionkit` CLI — the shape of a command and strict argument parsing.
 *
 * Arguments go through `node:util` `parseArgs` in strict mode, so an unknown flag, a missing
 * value or a stray argument is a {@link UsageError} (exit 2), never silently ignored. Messages are
 * one line of our own wording: Node's wording differs between versions and spans several lines.
 */

import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

/** One option of a command, as shown in its help and given to `parseArgs`. */
export interface CommandOption {
  /** `'string'` takes a value (`--count 3` or `--count=3`); `'boolean'` is a bare flag. */
  type: 'string' | 'boolean';
  /** One-letter alias (`-h`). */
  short?: string;
  /** Placeholder of the value in help (`N`); string options only. */
  value?: string;
  /** One line of help. */
  help: string;
}

/** A progress display: a bar on a terminal's stderr. */
export interface Progress {
  /** `done` of `total` (unknown: a counter without a bar). */
  update(done: number, total: number | undefined): void;
  /** Clear the display (before the command's result is printed). */
  end(): void;
}

/** Where a command runs: its environment, working directory and progress display. */
export interface CommandContext {
  /** Environment variables (`SESSION_STORE`, `SESSION_SECRETS`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative store paths resolve against. */
  cwd: string;
  /** A progress display labelled `label`; `undefined` when stderr is not a terminal. */
  progress(label: string): Progress | undefined;
}

/** What a command's `run` receives: the option values (strings or `true`) and positionals. */
export interface CommandInput {
  /** Values of the options that were given; absent options are missing. */
  values: Readonly<Record<string, string | boolean | undefined>>;
  /** Positional arguments (empty unless the command declares `positionals`). */
  positionals: readonly string[];
  /**
   * The environment, working directory and progress display.
   * @default process.env, process.cwd() and no progress display
   */
  context?: CommandContext | undefined;
}

/** Lines a command prints on stdout, in order. */
export type CommandOutput = Iterable<string> | AsyncIterable<string>;

/**
 * One entry of the command table. `run` maps parsed arguments onto a pure function in
 * `commands/*.ts`; it throws {@link UsageError} for a bad argument value (exit 2) and anything
 * else for a failure (exit 1).
 */
export interface Command {
  /** Arguments after the command name in the synopsis, e.g. `[--count N]`. */
  synopsis: string;
  /** One line for the command list of `sessionkit --help`. */
  summary: string;
  /** Paragraph shown by `sessionkit <command> --help`, below the synopsis. */
  description: string;
  /** The command's options; `-h, --help` is added to every command. */
  options: Readonly<Record<string, CommandOption>>;
  /** Placeholder of the positionals in help (e.g. `<url>`); omitted: none are accepted. */
  positionals?: string;
  /** Run the command; the lines it yields go to stdout. */
  run(input: CommandInput): CommandOutput | Promise<CommandOutput>;
}

/** A wrong invocation: the CLI prints the message and the command's usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The `-h, --help` flag every command accepts. */
export const HELP_OPTION: CommandOption = { type: 'boolean', short: 'h', help: 'show this help' };

/**
 * Parse `args` against `options` with `parseArgs` in strict mode. Throws {@link UsageError} with a
 * one-line message naming the offending argument when Node rejects them.
 */
export function parseCommandArgs(
  args: readonly string[],
  options: Readonly<Record<string, CommandOption>>,
  allowPositionals: boolean,
): CommandInput {
  const config: ParseArgsOptions = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] =
      option.short === undefined
        ? { type: option.type }
        : { type: option.type, short: option.short };
  }
  try {
    const { values, positionals } = parseArgs({
      args,
      options: config,
      strict: true,
      allowPositionals,
    });
    // No option is declared `multiple`, so no value is an array.
    return { values: values as CommandInput['values'], positionals };
  } catch (error) {
    if (!isParseArgsError(error)) throw error;
    throw new UsageError(explain(args, config, allowPositionals) ?? firstLine(error.message));
  }
}

/**
 * An integer option in `min..max`, from its string value; `fallback` when absent. Anything else
 * (`1.5`, `1e1`, `0x10`, ` 3`, out of range) is a {@link UsageError}.
 */
export function integerOption(
  value: string | boolean | undefined,
  flag: string,
  range: { min: number; max: number; fallback: number },
): number {
  if (value === undefined) return range.fallback;
  const number = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(number >= range.min && number <= range.max)) {
    throw new UsageError(`${flag} must be an integer from ${range.min} to ${range.max}`);
  }
  return number;
}

function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

// Find the argument strict parsing rejected, from the tokens of a lenient pass over the same args.
function explain(
  args: readonly string[],
  config: ParseArgsOptions,
  allowPositionals: boolean,
): string | undefined {
  const { tokens } = parseArgs({
    args,
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional' && !allowPositionals) {
      return `unexpected argument '${token.value}'`;
    }
    if (token.kind !== 'option') continue;
    const option = config[token.name];
    if (option === undefined) return `unknown option '${token.rawName}'`;
    if (option.type === 'boolean' && token.value !== undefined) {
      return `option '${token.rawName}' takes no value`;
    }
    if (option.type === 'string' && token.value === undefined) {
      return `option '${token.rawName}' needs a value`;
    }
    if (option.type === 'string' && token.inlineValue === false && token.value?.startsWith('-')) {
      // Strict mode refuses `--count -1` as ambiguous (is `-1` a value or a flag?).
      return `option '${token.rawName}' needs a value; write ${token.rawName}=${token.value} for one starting with '-'`;
    }
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
