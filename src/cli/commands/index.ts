/**
 * `sessionkit` CLI — the command table: each entry maps parsed arguments onto a pure function of
 * this folder and its output onto lines (or one JSON document with `--json`). `main.ts` parses,
 * dispatches and prints.
 */

import { type Command, type CommandContext, integerOption, UsageError } from '../args.js';
import {
  json,
  PROCESS_CONTEXT,
  recordReader,
  STORE_OPTIONS,
  secretsOf,
  storeUrl,
  withStore,
} from '../store.js';
import { keygen } from './keygen.js';
import { formatMigrate, migrate, schemaOf } from './migrate.js';
import { formatPrune, prune } from './prune.js';
import { formatReseal, reseal } from './reseal.js';
import { formatList, formatShow, listSessions, revoke, showSession } from './sessions.js';
import { formatStats, stats } from './stats.js';

type Values = Readonly<Record<string, string | boolean | undefined>>;

/** Every command, by name. Add a command here and its pure function in this folder. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  keygen: {
    synopsis: '[--count N]',
    summary: 'print fresh secrets for the `secrets` option',
    description:
      'Print N fresh secrets, one per line: 32 random bytes from the CSPRNG, base64url\n' +
      '(43 characters). Put one first in SESSION_SECRETS; keep older ones after it to rotate.',
    options: { count: { type: 'string', value: 'N', help: 'how many, 1 to 100 (default 1)' } },
    run: ({ values }) =>
      keygen({ count: integerOption(values.count, '--count', { min: 1, max: 100, fallback: 1 }) }),
  },
  migrate: {
    synopsis: '[--store URL] [--print] [--json]',
    summary: 'create the SQL tables of the store, or print their DDL',
    description:
      'Apply the DDL of the SQL store the URL names (sqlite, postgres, mysql, or a tiered\n' +
      "store's SQL tiers): CREATE ... IF NOT EXISTS, safe at every deploy. Reports the\n" +
      'tables it created. --print prints the DDL instead, without connecting.',
    options: {
      ...STORE_OPTIONS,
      print: { type: 'boolean', help: 'print the DDL, change nothing' },
    },
    async run({ values, context = PROCESS_CONTEXT }) {
      if (values.print === true) {
        const schemas = schemaOf(storeUrl(values, context), context.cwd);
        if (values.json === true) return [json(schemas)];
        if (schemas.length === 0) return ['-- not a SQL store: no schema'];
        return schemas.map(({ store, schema }) => `-- ${store}\n${schema.trimEnd()}`);
      }
      const results = await withStore(values, context, migrate, true);
      return values.json === true ? [json(results)] : formatMigrate(results);
    },
  },
  prune: {
    synopsis: '[--store URL] [--batch N] [--json]',
    summary: 'delete expired sessions, index entries and lock rows',
    description:
      'Delete expired sessions (and orphaned per-user index entries, expired lock rows) in\n' +
      'batches, safe while the application serves. Shows a progress bar on a terminal and\n' +
      'prints how many sessions it removed. Schedule it: see docs/operations.md.',
    options: {
      ...STORE_OPTIONS,
      batch: { type: 'string', value: 'N', help: 'rows per DELETE on SQL stores (default 1000)' },
    },
    async run({ values, context = PROCESS_CONTEXT }) {
      const batchSize = integerOption(values.batch, '--batch', {
        min: 1,
        max: 100_000,
        fallback: 1000,
      });
      const bar = context.progress('pruning');
      const onProgress =
        bar &&
        ((p: { removed: number; total?: number | undefined }) => {
          bar.update(p.removed, p.total);
        });
      const result = await withStore(values, context, (store) =>
        prune(store, { batchSize, ...(onProgress === undefined ? {} : { onProgress }) }),
      ).finally(() => bar?.end());
      return values.json === true ? [json(result)] : [formatPrune(result)];
    },
  },
  list: {
    synopsis: '--user ID [--store URL] [--json]',
    summary: "list a user's sessions",
    description:
      "List a user's live sessions, most recently seen first: handle, created, last seen,\n" +
      'expiry, ip and user agent. Sealed sessions need SESSION_SECRETS to show their details.',
    options: { ...STORE_OPTIONS, user: { type: 'string', value: 'ID', help: 'the user id' } },
    async run({ values, context = PROCESS_CONTEXT }) {
      const user = required(values, 'user');
      const read = recordReader(context.env);
      const sessions = await withStore(values, context, (s) => listSessions(s, user, read));
      return values.json === true ? [json(sessions)] : formatList(user, sessions);
    },
  },
  show: {
    synopsis: '[--store URL] [--data] [--json]',
    positionals: '<handle>',
    summary: 'show one session by its handle',
    description:
      'Show one session: its user, times, ip, user agent, size and the names of its data\n' +
      "keys (--data: their values too). Never the session's CSRF secret.",
    options: { ...STORE_OPTIONS, data: { type: 'boolean', help: 'print the data values too' } },
    async run({ values, positionals, context = PROCESS_CONTEXT }) {
      if (positionals.length !== 1) throw new UsageError('give exactly one session handle');
      const read = recordReader(context.env);
      const detail = await withStore(values, context, (s) =>
        showSession(s, positionals[0]!, read, values.data === true),
      );
      if (detail === undefined) throw new Error('No live session has that handle.');
      return values.json === true ? [json(detail)] : formatShow(detail);
    },
  },
  revoke: {
    synopsis: '--user ID (--handle H | --all [--except H]) [--store URL] [--json]',
    summary: "revoke one or all of a user's sessions",
    description:
      "Revoke (delete) one session of a user by its handle — only if it is that user's — or\n" +
      'all of their sessions, optionally but one (--except, e.g. the one in use).',
    options: {
      ...STORE_OPTIONS,
      user: { type: 'string', value: 'ID', help: 'the user id' },
      handle: { type: 'string', value: 'H', help: 'the session to revoke' },
      all: { type: 'boolean', help: "revoke all the user's sessions" },
      except: { type: 'string', value: 'H', help: 'with --all: keep this session' },
    },
    async run({ values, context = PROCESS_CONTEXT }) {
      const user = required(values, 'user');
      const handle = typeof values.handle === 'string' ? values.handle : undefined;
      if ((handle === undefined) === (values.all !== true)) {
        throw new UsageError('give either --handle H or --all');
      }
      if (values.except !== undefined && handle !== undefined) {
        throw new UsageError('--except goes with --all');
      }
      const except = typeof values.except === 'string' ? values.except : undefined;
      const target = handle === undefined ? { all: true as const, except } : { handle };
      const result = await withStore(values, context, (s) => revoke(s, user, target));
      if (handle !== undefined && result.revoked === 0) {
        throw new Error(`No live session of user ${JSON.stringify(user)} has that handle.`);
      }
      if (values.json === true) return [json(result)];
      const n = result.revoked;
      return [`Revoked ${n} session${n === 1 ? '' : 's'} of user ${JSON.stringify(user)}.`];
    },
  },
  stats: {
    synopsis: '[--store URL] [--json]',
    summary: 'count sessions: users, sizes, ages, idle times, lock rows',
    description:
      'Count the live sessions (signed in and anonymous, per user), their size distribution,\n' +
      'age and idle-time histograms, and on SQL stores the expired rows awaiting prune and the\n' +
      'lock rows. Reads every live record once; sealed ones need SESSION_SECRETS for times.',
    options: { ...STORE_OPTIONS },
    async run({ values, context = PROCESS_CONTEXT }) {
      const read = recordReader(context.env);
      const result = await withStore(values, context, (s) => stats(s, read));
      return values.json === true ? [json(result)] : formatStats(result);
    },
  },
  reseal: {
    synopsis: '[--store URL] [--plaintext] [--json]',
    summary: 're-encrypt every session under the primary secret',
    description:
      'Re-encrypt every stored session under the first secret of SESSION_SECRETS (the others\n' +
      'only decrypt). Run it after adding a new primary secret, before removing the old one.\n' +
      '--plaintext also encrypts sessions written before `encrypt` was turned on.',
    options: {
      ...STORE_OPTIONS,
      plaintext: { type: 'boolean', help: 'also encrypt plaintext sessions' },
    },
    async run({ values, context = PROCESS_CONTEXT }) {
      const result = await withStore(values, context, (store) =>
        resealWith(store, values, context),
      );
      return values.json === true ? [json(result)] : [formatReseal(result)];
    },
  },
};

async function resealWith(
  store: Parameters<typeof reseal>[0],
  values: Values,
  context: CommandContext,
): ReturnType<typeof reseal> {
  const source = store.tiers?.persistent ?? store;
  const bar = context.progress('resealing');
  const total =
    bar && typeof source.counts === 'function' ? (await source.counts()).live : undefined;
  try {
    return await reseal(store, secretsOf(context.env), {
      plaintext: values.plaintext === true,
      ...(bar === undefined ? {} : { onProgress: (n: number) => bar.update(n, total) }),
    });
  } finally {
    bar?.end();
  }
}

/** A string option that must be given. */
function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
