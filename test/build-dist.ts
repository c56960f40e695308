import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// vitest's globalSetup: builds dist/ (scripts/build.mjs) once, before any test file loads, when it is missing or older
// than src/. Tests import the public entries (`ddprun`, `ddprun/ultralytics`, `ddprun/slurm`) by the package's name,
// which Node and vitest resolve through package.json "exports" to dist/, so a stale build would test old code.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = ['index.js', 'ultralytics/index.js', 'slurm/index.js', 'cli/main.js'].map((f) =>
  path.join(ROOT, 'dist', f),
);

/** The newest modification time of any file under `dir` (src/ against dist/: is the build current?). */
export function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

export function setup(): void {
  const src = newestMtime(path.join(ROOT, 'src'));
  if (BUILT.every((file) => existsSync(file) && statSync(file).mtimeMs >= src)) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
