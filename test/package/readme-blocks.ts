/**
 * The README's TypeScript code blocks as programs to type-check. Every ```ts (or ```typescript)
 * block is one program that must compile on its own, unless the line right before its opening
 * fence is the marker {@link CONTINUES}: then it continues the previous block, and the two are
 * checked as one program (text concatenated in order). The marker is an HTML comment, so readers
 * of the rendered README see nothing; say "continuing the example above" in the prose as well.
 */

/** The line that marks a block as the continuation of the block before it. */
export const CONTINUES = '<!-- continues -->';

/** One program built from one block and its continuations. */
export interface ReadmeProgram {
  /** README line (1-based) of the first code line of the first block. */
  readonly line: number;
  /** The code, blocks joined by a newline. */
  readonly code: string;
  /** Where each block starts in `code` (0-based code line) and in the README (1-based line). */
  readonly segments: readonly { readonly codeLine: number; readonly readmeLine: number }[];
}

const OPEN = /^```(ts|typescript)\s*$/;
const FENCE = /^```/;

/**
 * Split `markdown` into the programs its TypeScript blocks form. Throws an `Error` naming the
 * README line for a marker that has no previous block to continue, or for an unclosed fence.
 */
export function readmePrograms(markdown: string): ReadmeProgram[] {
  const lines = markdown.split('\n');
  const programs: {
    line: number;
    code: string[];
    segments: ReadmeProgram['segments'][number][];
  }[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (!FENCE.test(line)) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end === -1) throw new Error(`README line ${i + 1}: unclosed code fence`);
    if (OPEN.test(line)) {
      const body = lines.slice(i + 1, end);
      const readmeLine = i + 2;
      const continues = (lines[i - 1] ?? '').trim() === CONTINUES;
      const previous = programs.at(-1);
      if (continues) {
        if (previous === undefined) {
          throw new Error(`README line ${i}: ${CONTINUES} but there is no block before it`);
        }
        previous.segments.push({ codeLine: previous.code.length, readmeLine });
        previous.code.push(...body);
      } else {
        programs.push({
          line: readmeLine,
          code: [...body],
          segments: [{ codeLine: 0, readmeLine }],
        });
      }
    }
    i = end;
  }
  return programs.map((p) => ({ line: p.line, code: p.code.join('\n'), segments: p.segments }));
}

/** The README line (1-based) of 0-based line `codeLine` of `program`. */
export function readmeLineOf(program: ReadmeProgram, codeLine: number): number {
  let best = program.segments[0] ?? { codeLine: 0, readmeLine: program.line };
  for (const segment of program.segments) if (segment.codeLine <= codeLine) best = segment;
  return best.readmeLine + (codeLine - best.codeLine);
}
