import { describe, expect, it } from 'vitest';
import { CONTINUES, readmeLineOf, readmePrograms } from './readme-blocks.js';

const README = [
  '# title', // 1
  '```sh', // 2
  'npm test', // 3
  '```', // 4
  '```ts', // 5
  'const a = 1;', // 6
  '```', // 7
  'text', // 8
  CONTINUES, // 9
  '```ts', // 10
  'const b = a;', // 11
  'const c = b;', // 12
  '```', // 13
  '```typescript', // 14
  'const d = 2;', // 15
  '```', // 16
].join('\n');

describe('readmePrograms', () => {
  it('makes one program per block, joining marked continuations to the block before', () => {
    const programs = readmePrograms(README);
    expect(programs.map((p) => p.code)).toEqual([
      'const a = 1;\nconst b = a;\nconst c = b;',
      'const d = 2;',
    ]);
    expect(programs.map((p) => p.line)).toEqual([6, 15]);
  });

  it('maps every code line back to its README line across continuations', () => {
    const [first, second] = readmePrograms(README);
    expect([0, 1, 2].map((l) => readmeLineOf(first!, l))).toEqual([6, 11, 12]);
    expect(readmeLineOf(second!, 0)).toBe(15);
  });

  it('ignores other languages and refuses a continuation with nothing before it', () => {
    expect(readmePrograms('```js\nx\n```\n```sh\ny\n```')).toEqual([]);
    expect(() => readmePrograms(`${CONTINUES}\n\`\`\`ts\nx\n\`\`\``)).toThrow(/line 1: .*no block/);
    expect(() => readmePrograms('```ts\nx')).toThrow(/line 1: unclosed/);
  });
});
