// Bundled into dist/cli/main.js in place of `import('./cli.js')` (scripts/bundle-cli.mjs): runs dist/cli/cli-bundle.js,
// the CLI as one CommonJS file. Compiled here as Node's own require() would, because the package is "type": "module"
// (require() would read a .js file as an ES module) and import() would first scan all of it for export names.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFunction } from 'node:vm';

const filename = fileURLToPath(new URL('./cli-bundle.js', import.meta.url));
const module = { exports: {} };
compileFunction(readFileSync(filename, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
  filename,
})(module.exports, createRequire(filename), module, filename, path.dirname(filename));

export const { runCli } = module.exports;
