#!/usr/bin/env node
// The CLI's entry. `ddprun --version` answers here, before the rest of the CLI is loaded; everything else is
// cli.ts's runCli(). The build bundles cli.ts and all it imports into one file (scripts/bundle-cli.mjs).
import { ddprunVersion } from '../version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && ['--version', '-V', '-v'].includes(argv[0] ?? '')) {
  process.stdout.on('error', () => {}); // `ddprun --version | true`: nothing left to do
  process.stdout.write(`${ddprunVersion()}\n`);
} else {
  process.exitCode = await (await import('./cli.js')).runCli(argv);
}
