// Bundles the dashboard's page (ui/) into dist/ui/static/: one script, one stylesheet, no network at run time.
import { build } from 'esbuild';

const result = await build({
  entryPoints: { app: 'ui/app.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'chrome110',
  outdir: 'dist/ui/static',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const sizes = Object.entries(result.metafile.outputs).map(([f, o]) => `${f} ${(o.bytes / 1024).toFixed(1)} KiB`);
if (process.argv.includes('--sizes')) console.log(sizes.join('\n'));
