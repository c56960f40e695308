// Builds dist/ from src/ with TypeScript, into a clean dist/ so that no file of a moved or deleted module ships; then
// bundles the CLI into one file (scripts/bundle-cli.mjs) over tsc's dist/cli/main.js. With --prepare (npm's
// `prepare`, run in a clone that `npm install /path/to/clone` links), a clone without its dev dependencies gets a
// clear error, or keeps a dist/ already built.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
let tsc;
try {
  tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  if (process.argv.includes('--prepare') && existsSync(path.join(root, 'dist/index.js'))) process.exit(0);
  console.error(
    `ddprun: cannot build ${path.join(root, 'dist')}: TypeScript is not installed in ${root}.\n` +
      `Run \`npm ci\` there first (it installs the dev tools and builds), then install ddprun again.`,
  );
  process.exit(1);
}
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const { status } = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (status !== 0) process.exit(status ?? 1);
// The CLI as one file (start-up: one module to load instead of ~150), and the dashboard's page into
// dist/ui/static/: both bundled by esbuild (a dev dependency).
for (const script of ['bundle-cli.mjs', 'build-ui.mjs']) {
  const step = spawnSync(process.execPath, [path.join(root, 'scripts', script)], { stdio: 'inherit', cwd: root });
  if (step.status !== 0) process.exit(step.status ?? 1);
}
