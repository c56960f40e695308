#!/usr/bin/env node
import { main } from './cli.js';

// `ddprun … | head` closes the pipe early: the run goes on (and is cleaned up) without its reader.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
