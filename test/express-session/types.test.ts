/**
 * Typed `SessionData` behind the facade in programs this repository's own `tsc` run cannot be:
 * one WITHOUT `@types/express-session` (the facade alone types `req.session` on Express's
 * `Request` through its `SessionData`, augmented via the facade's module), and one WITH it under
 * `skipLibCheck: false` (the two `Express.Request` declarations merge without TS2717/TS2430).
 * Each compiles a small app with the TypeScript API; every `@ts-expect-error` must be needed.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(import.meta.dirname, '.types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compile `source` (as `app.ts` next to this file) and return its diagnostics as text. */
function compile(
  source: string,
  options: ts.CompilerOptions = {},
): { errors: string[]; files: string[] } {
  const file = join(dir, `app-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ['node'],
    skipLibCheck: true,
    ...options,
  });
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? d.file.fileName.split('/').slice(-2).join('/') : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
  return { errors, files: program.getSourceFiles().map((f) => f.fileName) };
}

const facade = '../../../src/express-session/index.js';

// Each compile type-checks Express's and Node's declarations: seconds, more on a loaded machine.
const slow = { timeout: 180_000 };

describe('typed SessionData behind the facade', () => {
  it(
    'without @types/express-session, augmenting the facade types req.session in Express handlers',
    slow,
    () => {
      const { errors, files } = compile(`
      import express from 'express';
      import session from '${facade}';
      declare module '${facade}' {
        interface SessionData { views: number; user: { id: string } }
      }
      const app = express();
      app.use(session({ secret: 'x'.repeat(32), resave: false, saveUninitialized: false }));
      app.get('/', (req, res) => {
        const views: number | undefined = req.session.views;
        req.session.views = (views ?? 0) + 1;
        const id: string | undefined = req.session.user?.id;
        // @ts-expect-error: views is a number
        req.session.views = 'many';
        // @ts-expect-error: not declared in SessionData
        req.session.undeclared = 1;
        const sid: string = req.sessionID;
        req.session.save((error) => void error);
        req.session.regenerate(() => undefined);
        const max: number | null = req.session.cookie.originalMaxAge;
        res.send(String([id, sid, max]));
      });
    `);
      expect(files.some((f) => f.includes('@types/express-session'))).toBe(false);
      expect(errors).toEqual([]);
    },
  );

  it(
    'with @types/express-session and skipLibCheck off, both declarations merge and its SessionData types req.session',
    slow,
    () => {
      const { errors, files } = compile(
        `
      import express from 'express';
      import type {} from 'express-session';
      import session from '${facade}';
      declare module 'express-session' {
        interface SessionData { views: number }
      }
      const app = express();
      app.use(session({ secret: 'x'.repeat(32), resave: false, saveUninitialized: false }));
      app.get('/', (req, res) => {
        const views: number | undefined = req.session.views;
        // @ts-expect-error: views is a number
        req.session.views = 'many';
        res.send(String(views));
      });
    `,
        { skipLibCheck: false },
      );
      expect(files.some((f) => f.includes('@types/express-session'))).toBe(true);
      // Only the facade's and express-session's declarations matter here: other @types packages'
      // own lib errors (if any) are not ours.
      expect(errors.filter((e) => /express-session|app-/.test(e))).toEqual([]);
    },
  );
});
