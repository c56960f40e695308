#!/usr/bin/env node
import { main } from './cli.js';
import { closeDeadTerminalsAtExit } from './terminal.js';

// `ddprun … | head` closes the pipe early (EPIPE), a closed terminal fails writes (EIO): the launch stops on its own
// (see README, Beware) and nothing more is written there; any other error on these streams is a bug.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
  });
}
closeDeadTerminalsAtExit();

process.exitCode = await main(process.argv.slice(2));
