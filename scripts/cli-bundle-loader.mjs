// Bundled into dist/cli/main.js in place of `import('./cli.js')` (scripts/bundle-cli.mjs): runs dist/cli/cli-bundle.js,
// the CLI as one CommonJS file. Compiled here as Node's own require() would, because the package is "type": "module"
// (require() would read a .js file as an ES module) and import() would first scan all of it for export names; with
// V8's code cache of it (cli-bundle-cache.js, made at build time), which V8 takes only from the same V8 version with
// the same flags and for the same source, and otherwise ignores.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { wrapBundle } from './cli-bundle-wrap.mjs';

const filename = fileURLToPath(new URL('./cli-bundle.js', import.meta.url));

function codeCache() {
  try {
    const text = readFileSync(new URL('./cli-bundle-cache.js', import.meta.url), 'latin1');
    return Buffer.from(text.slice(text.indexOf("'") + 1, text.lastIndexOf("'")), 'base64');
  } catch {
    return undefined;
  }
}

const module = { exports: {} };
new Script(wrapBundle(readFileSync(filename, 'utf8')), { filename, cachedData: codeCache() })
  .runInThisContext()
  .call(module.exports, module.exports, createRequire(filename), module, filename, path.dirname(filename));

export const { runCli } = module.exports;
