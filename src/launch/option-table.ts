import type { LaunchOptions } from '../model/types.js';

/** How a flag's text becomes the option's value (the CLI holds one converter per kind). */
/** `switch`: a flag without a value (`--stack-dumps`), which sets the option to `true`. */
export type FlagValue = 'text' | 'integer' | 'nproc' | 'nnodes' | 'seconds-to-ms' | 'ranks' | 'std-spec' | 'switch';

/** One `launch()` option; `flag` when the CLI has a flag for it. */
export interface OptionRow {
  flag?: {
    /** Commander's spelling: `--nproc-per-node <n>`. */
    spec: string;
    /** The --help line. */
    help: string;
    /** @default 'text' */
    value?: FlagValue;
    choices?: readonly string[];
  };
}

/**
 * The one table of `launch()` options. The library's list of known options, the CLI's launch flags and the
 * flag → option copy are all derived from it; `satisfies` makes a new `LaunchOptions` field fail to compile
 * until it has a row here. To add an option: add its field to `LaunchOptions`, a row here (with `flag` when
 * the CLI should offer it), and its resolver in `resolve/`.
 */
export const OPTION_TABLE = {
  entry: {},
  nprocPerNode: {
    flag: {
      spec: '--nproc-per-node <n>',
      help: 'ranks on this node: a number, or auto (GPUs if CUDA is available, else CPUs), gpu, cpu (default: 1)',
      value: 'nproc',
    },
  },
  nnodes: {
    flag: {
      spec: '--nnodes <n>',
      help: 'nodes in the job, or MIN:MAX with --backend torchrun (default: 1)',
      value: 'nnodes',
    },
  },
  nodeRank: {
    flag: { spec: '--node-rank <r>', help: 'rank of this node, 0 … nnodes-1 (default: 0)', value: 'integer' },
  },
  masterAddr: {
    flag: { spec: '--master-addr <host>', help: 'address where rank 0 hosts the store (default: 127.0.0.1)' },
  },
  masterPort: {
    flag: {
      spec: '--master-port <port>',
      help: 'port of that store, 1-65535 (default: a free port; 29500 with several nodes)',
      value: 'integer',
    },
  },
  maxRestarts: {
    flag: {
      spec: '--max-restarts <n>',
      help: 'restarts of the whole group after a failure (default: 0)',
      value: 'integer',
    },
  },
  runId: { flag: { spec: '--run-id <id>', help: 'TORCHELASTIC_RUN_ID (default: none)' } },
  logDir: {
    flag: {
      spec: '--log-dir <dir>',
      help: 'per-rank logs in DIR/<run id>_<random>/attempt_<k>/<rank>/stdout.log|stderr.log (a new folder per run)',
    },
  },
  redirects: {
    flag: {
      spec: '--redirects <spec>',
      help: 'streams sent to log files only: 0 none, 1 stdout, 2 stderr, 3 both, or per rank like 0:1,1:2',
      value: 'std-spec',
    },
  },
  tee: {
    flag: {
      spec: '--tee <spec>',
      help: 'streams sent to log files and the console (same syntax as --redirects)',
      value: 'std-spec',
    },
  },
  localRanksFilter: {
    flag: {
      spec: '--local-ranks-filter <ranks>',
      help: 'local ranks whose output is shown, e.g. 0 or 0,1 (default: all)',
      value: 'ranks',
    },
  },
  gracePeriodMs: {
    flag: {
      spec: '--grace-period <seconds>',
      help: 'time between the stop signal and SIGKILL (default: 30)',
      value: 'seconds-to-ms',
    },
  },
  stopSignal: {
    flag: {
      spec: '--stop-signal <signal>',
      help: "what each rank's main process gets on a graceful stop; its group gets it once the main exited (default: SIGTERM)",
    },
  },
  python: {
    flag: {
      spec: '--python <path>',
      help: 'Python interpreter (default: the first found with torch; see ddprun doctor)',
    },
  },
  cwd: {},
  env: {},
  signal: {},
  backend: {
    flag: {
      spec: '--backend <backend>',
      help: 'native: ddprun starts the ranks; torchrun: python -m torch.distributed.run does (default: native)',
      choices: ['native', 'torchrun'],
    },
  },
  rdzvTimeoutMs: {
    flag: {
      spec: '--rdzv-timeout <seconds>',
      help: 'how long a node waits for the others (default: 900)',
      value: 'seconds-to-ms',
    },
  },
  rdzvBackend: {
    flag: {
      spec: '--rdzv-backend <name>',
      help: 'torchrun backend: rendezvous backend: static, c10d, etcd or etcd-v2',
    },
  },
  rdzvEndpoint: { flag: { spec: '--rdzv-endpoint <host:port>', help: 'torchrun backend: rendezvous endpoint' } },
  rdzvId: { flag: { spec: '--rdzv-id <id>', help: 'torchrun backend: rendezvous id (default: the run id)' } },
  handleSignals: {},
  console: {},
  configDir: {},
  resourceIntervalMs: {},
  hangTimeoutMs: {
    flag: {
      spec: '--hang-timeout <seconds>',
      help: 'report a hang, with every rank’s Python stack, when no rank printed a line or used CPU for that long (default: off)',
      value: 'seconds-to-ms',
    },
  },
  onHang: {
    flag: {
      spec: '--on-hang <action>',
      help: 'dump: report and keep running; stop: report, stop the job, exit 124 (default: dump)',
      choices: ['dump', 'stop'],
    },
  },
  stackDumps: {
    flag: {
      spec: '--stack-dumps',
      value: 'switch',
      help: 'let ddprun dump the ranks’ Python stacks (ddprun stacks, before a teardown’s SIGKILL); on with --hang-timeout',
    },
  },
  interactive: {
    flag: {
      spec: '--interactive',
      value: 'switch',
      help: 'give the one rank shown (one rank, or --local-ranks-filter selecting one) the terminal: stdin, stdout, stderr, for breakpoint() and input()',
    },
  },
  record: {},
  name: {
    flag: {
      spec: '--name <name>',
      help: 'name the run in the run store: ddprun logs/show/stop/rm <name> then find its newest run of that name',
    },
  },
  recordMaxLogBytes: {},
  // torchrun compatibility: the CLI reads these from torchrun's flags (src/cli/torchrun-compat.ts).
  role: {},
  rdzvConf: {},
  virtualLocalRank: {},
  linePrefixTemplate: {},
  // `ddprun train --no-resume` sets it; a train-only flag, not a launch flag.
  resume: {},
} as const satisfies Record<keyof LaunchOptions, OptionRow>;

export type OptionName = keyof typeof OPTION_TABLE;

/** Every option `launch()` accepts, in the table's order. */
export const OPTION_NAMES = Object.keys(OPTION_TABLE) as OptionName[];

/** The options the CLI offers as flags, with their flag. */
export function flaggedOptions(): { option: OptionName; flag: NonNullable<OptionRow['flag']> }[] {
  return OPTION_NAMES.flatMap((option) => {
    const row: OptionRow = OPTION_TABLE[option];
    return row.flag ? [{ option, flag: row.flag }] : [];
  });
}
