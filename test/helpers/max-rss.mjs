// Preloaded into a CLI under test (`node --import max-rss.mjs`): at exit, writes the process's peak resident set
// (getrusage's ru_maxrss, what /proc/<pid>/status calls VmHWM), in KiB, to $DDPRUN_TEST_MAX_RSS_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.DDPRUN_TEST_MAX_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
