import type { Spec } from './flag-specs.js';

/** One flag of torchrun's `get_args_parser()` and what ddprun does with it (the README's table says the same). */
export interface TorchrunFlag {
  /** Dash spelling; the underscore one is accepted too. */
  long: string;
  short?: string;
  value: boolean;
  /** What ddprun does with it. */
  ddprun: string;
  /** Set when the native backend does not use it: the reason, shown by --dry-run. */
  ignored?: string;
}

// Every flag of torchrun's parser (torch 2.11, which includes 1.13's): dash spelling, whether it takes a value, and
// what ddprun does with it.
const ROWS: readonly (readonly [long: string, value: boolean, ddprun: string])[] = [
  ['--nnodes', true, 'honoured (N, or MIN:MAX via the torchrun backend)'],
  ['--nproc-per-node', true, 'honoured (N, auto, gpu, cpu)'],
  ['--rdzv-backend', true, 'honoured; c10d with several nodes selects the torchrun backend'],
  ['--rdzv-endpoint', true, 'honoured by the torchrun backend'],
  ['--rdzv-id', true, 'honoured: TORCHELASTIC_RUN_ID'],
  ['--rdzv-conf', true, 'join_timeout/timeout honoured natively; all keys passed to the torchrun backend'],
  ['--standalone', false, 'honoured: one node, a free port, a fresh run id'],
  ['--max-restarts', true, 'honoured'],
  ['--monitor-interval', true, 'accepted; ddprun sees an exit at once'],
  ['--start-method', true, 'accepted; every rank is a fresh process (spawn)'],
  ['--event-log-handler', true, 'accepted, ignored (ddprun records its own events)'],
  ['--role', true, 'honoured: ROLE_NAME'],
  ['--module', false, 'honoured'],
  ['--no-python', false, 'honoured'],
  ['--run-path', false, 'honoured: the script runs as `python -u script` (same result)'],
  ['--log-dir', true, 'honoured: <dir>/<run id>_<random>/attempt_<k>/<local rank>/'],
  ['--redirects', true, 'honoured'],
  ['--tee', true, 'honoured'],
  ['--local-ranks-filter', true, 'honoured'],
  ['--duplicate-stdout-filters', true, 'accepted, ignored'],
  ['--duplicate-stderr-filters', true, 'accepted, ignored'],
  ['--node-rank', true, 'honoured'],
  ['--master-addr', true, 'honoured'],
  ['--master-port', true, 'honoured'],
  ['--local-addr', true, 'accepted, ignored (gloo/NCCL interfaces: GLOO_SOCKET_IFNAME, set by ddprun)'],
  ['--logs-specs', true, '`default` accepted, ignored (ddprun writes its own log layout); any other name: exit 2'],
  ['--numa-binding', true, 'accepted, ignored'],
  ['--signals-to-handle', true, 'accepted; ddprun forwards SIGINT, SIGTERM, SIGHUP'],
  ['--shutdown-timeout', true, 'honoured: the grace period (--grace-period)'],
  ['--virtual-local-rank', false, 'honoured: LOCAL_RANK=0, CUDA_VISIBLE_DEVICES per rank'],
];

const SHORTS: Readonly<Record<string, string>> = { '--module': '-m', '--redirects': '-r', '--tee': '-t' };

/** Why the native backend does not use a flag, as --dry-run says it. */
const IGNORED: Readonly<Record<string, string>> = {
  '--monitor-interval': 'ddprun is told of each exit at once, it does not poll',
  '--start-method': 'every rank is a fresh process, as with spawn',
  '--event-log-handler': 'no torchelastic event handlers in ddprun',
  '--duplicate-stdout-filters': 'no duplicate log file; use --json and filter',
  '--duplicate-stderr-filters': 'no duplicate log file; use --json and filter',
  '--local-addr': 'ddprun publishes no node address; it sets GLOO_SOCKET_IFNAME/NCCL_SOCKET_IFNAME',
  '--logs-specs': 'ddprun writes its own log layout',
  '--numa-binding': 'no NUMA binding; wrap the command with numactl',
  '--signals-to-handle': 'ddprun forwards SIGINT, SIGTERM and SIGHUP',
};

export const TORCHRUN_FLAGS: readonly TorchrunFlag[] = ROWS.map(([long, value, ddprun]) => ({
  long,
  value,
  ddprun,
  ...(SHORTS[long] === undefined ? {} : { short: SHORTS[long] }),
  ...(IGNORED[long] === undefined ? {} : { ignored: IGNORED[long] }),
}));

/** commander specs for the torchrun flags ddprun's own table (LAUNCH_FLAGS, ENTRY_FLAGS) does not have. */
export const TORCHRUN_EXTRA_FLAGS: Spec[] = [
  { flags: '--rdzv-conf <conf>', description: "torchrun's rendezvous configuration, key=value,…" },
  { flags: '--monitor-interval <seconds>', description: 'torchrun compatibility (ignored: exits are seen at once)' },
  {
    flags: '--start-method <method>',
    description: 'torchrun compatibility (ignored: each rank is a fresh process)',
    choices: ['spawn', 'fork', 'forkserver'],
  },
  { flags: '--event-log-handler <name>', description: 'torchrun compatibility (ignored)' },
  { flags: '--role <name>', description: "the workers' role: ROLE_NAME (default: default)" },
  { flags: '--run-path', description: 'torchrun compatibility: run the script (as `python -u script`)' },
  { flags: '--duplicate-stdout-filters <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--duplicate-stderr-filters <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--local-addr <addr>', description: 'torchrun compatibility (ignored)' },
  { flags: '--logs-specs <name>', description: 'torchrun compatibility: only `default` (ignored)' },
  { flags: '--numa-binding <mode>', description: 'torchrun compatibility (ignored)' },
  { flags: '--signals-to-handle <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--shutdown-timeout <seconds>', description: 'same as --grace-period' },
  { flags: '--virtual-local-rank', description: 'every rank sees LOCAL_RANK=0 and only its own GPU' },
  {
    flags: '--log-line-prefix-template <template>',
    description: 'prefix of console lines, e.g. "[${rank}]: " (${rank}, ${local_rank}, ${role_name})',
  },
];
