// Bundles the CLI for start-up time, over tsc's files in dist/cli/ (the library entries and the types stay tsc's):
// - dist/cli/cli-bundle.js: src/cli/cli.ts and everything it imports, dependencies included, as one CommonJS file, so
//   that Node loads one module instead of ~150, and a module imported on demand (a subcommand, the launch itself)
//   runs, with the Node modules it requires, only when used (an ES module bundle would load every `node:` import
//   at start);
// - dist/cli/main.js: the entry (src/cli/main.ts: `--version` answers before the rest loads), running cli-bundle.js;
// - dist/cli/cli-bundle-cache.js: V8's code cache of cli-bundle.js.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src');
const outDir = path.join(root, 'dist', 'cli');

// Modules that cost more to load than a launch needs them: loaded on first use instead. string-width builds its
// Unicode tables when loaded (≈ 20 ms); only format.ts's visibleLength() needs it (the end-of-run table, a progress
// line drawn in place on a terminal), and only for text that is not plain ASCII.
const LAZY = {
  [path.join(src, 'cli', 'format.ts')]: [
    /^import stringWidth from 'string-width';$/m,
    "const stringWidth = (text: string): number => require('string-width').default(text);",
  ],
};

/**
 * A source file as a bundle sees it: `new URL('rel', import.meta.url)` re-aimed from the file's place in dist/ to
 * the bundle's (in CommonJS, from the bundle's own file name).
 */
function transform(file, format) {
  let text = readFileSync(file, 'utf8');
  const distFile = path.join(root, 'dist', path.relative(src, file));
  const here = format === 'cjs' ? "require('node:url').pathToFileURL(__filename)" : 'import.meta.url';
  text = text.replace(/new URL\((['"])([^'"]+)\1, import\.meta\.url\)/g, (_, quote, rel) => {
    let moved = path.relative(outDir, path.resolve(path.dirname(distFile), rel));
    if (rel.endsWith('/')) moved += '/';
    if (!moved.startsWith('.')) moved = `./${moved}`;
    return `new URL(${quote}${moved}${quote}, ${here})`;
  });
  if (format === 'cjs' && text.includes('import.meta'))
    throw new Error(`bundle-cli: ${file} uses import.meta in a way this script does not re-aim`);
  // The loader runs the bundle as a vm.Script, where import() has no loader and rejects: a Node module imported on
  // use is required instead (a file of ours imported on use is bundled by esbuild, which checks the output below).
  if (format === 'cjs') text = text.replace(/await import\((['"])(node:[\w/]+)\1\)/g, 'require($1$2$1)');
  const lazy = LAZY[file];
  if (lazy) {
    if (!lazy[0].test(text))
      throw new Error(`bundle-cli: ${file} no longer has ${lazy[0]}: update LAZY in scripts/bundle-cli.mjs`);
    text = text.replace(lazy[0], lazy[1]);
  }
  return { contents: text, loader: 'ts' };
}

const common = (format) => ({
  bundle: true,
  format,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [
    {
      name: 'ddprun-src',
      setup(b) {
        // The entry's `import('./cli.js')` runs the CommonJS bundle (scripts/cli-bundle-loader.mjs).
        if (format === 'esm')
          b.onResolve({ filter: /^\.\/cli\.js$/ }, () => ({
            path: path.join(root, 'scripts', 'cli-bundle-loader.mjs'),
          }));
        b.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => transform(args.path, format));
        // commander requires child_process (and with it net and the stream modules) for executable subcommands,
        // which ddprun has none of: required when first used instead.
        b.onLoad({ filter: /\/node_modules\/commander\/lib\/command\.js$/ }, (args) => {
          const text = readFileSync(args.path, 'utf8');
          const eager = "const childProcess = require('node:child_process');";
          if (!text.includes(eager))
            throw new Error(`bundle-cli: ${args.path} no longer has ${eager}: update scripts/bundle-cli.mjs`);
          const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
          return { contents: text.replace(eager, lazy), loader: 'js' };
        });
      },
    },
  ],
});

await build({
  ...common('cjs'),
  entryPoints: [path.join(src, 'cli', 'cli.ts')],
  outfile: path.join(outDir, 'cli-bundle.js'),
});
if (/\bimport\(/.test(readFileSync(path.join(outDir, 'cli-bundle.js'), 'utf8')))
  throw new Error('bundle-cli: cli-bundle.js keeps an import(), which fails under the loader (a vm.Script)');
await build({
  ...common('esm'),
  entryPoints: [path.join(src, 'cli', 'main.ts')],
  outfile: path.join(outDir, 'main.js'),
});

// V8's code cache of the bundle, for the loader: compiling 650 KB of source is ≈ 10 ms of every start, ≈ 2 ms with
// the cache. Made by this Node in a process without flags (V8 refuses a cache made by another V8 or under other
// flags, and the loader then compiles as without one). Shipped as a .js file holding one base64 string: the package
// ships only .js files under dist/.
const made = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { readFileSync } from 'node:fs';
     import { createRequire } from 'node:module';
     import { Script } from 'node:vm';
     import { wrapBundle } from ${JSON.stringify(pathToFileURL(path.join(root, 'scripts', 'cli-bundle-wrap.mjs')).href)};
     const file = ${JSON.stringify(path.join(outDir, 'cli-bundle.js'))};
     const script = new Script(wrapBundle(readFileSync(file, 'utf8')), { filename: file });
     // Run as \`ddprun --help\` runs it first, so that the cache holds the functions every command compiles.
     const module = { exports: {} };
     script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, '.');
     const quiet = { write: () => true, isTTY: false };
     await module.exports.main(['--help'], { stdout: quiet, stderr: quiet, env: {} });
     process.stdout.write(script.createCachedData().toString('base64'));`,
  ],
  { encoding: 'utf8', maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? '' } },
);
if (made.status !== 0) throw new Error(`bundle-cli: could not make the code cache: ${made.stderr}`);
writeFileSync(
  path.join(outDir, 'cli-bundle-cache.js'),
  `// V8 code cache of cli-bundle.js (made by Node ${process.version}), read by main.js: not a module to import.\nexport default '${made.stdout}';\n`,
);
