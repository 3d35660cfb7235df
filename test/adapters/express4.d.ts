// Express 4 is installed as the npm alias `express4` and ships no types of its own; its API as
// used by the tests is a subset of Express 5's, so it is typed as Express 5.
declare module 'express4' {
  import type express from 'express';

  const express4: typeof express;
  export default express4;
}
