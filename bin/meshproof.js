#!/usr/bin/env node
// Entry point: runs the TypeScript sources, from their bundle in node_modules/.cache when it can be made (remade
// whenever a source changes, see compiled.js), else through tsx's loader; either way there is no build step to forget.
import { ensureCompiled } from './compiled.js';

const compiled = await ensureCompiled('src/cli/main.ts');
let cli;
if (compiled !== undefined) {
  cli = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
await cli.main(process.argv);
