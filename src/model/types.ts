import type { DdpTrainer } from './trainer.js';

/** What each rank runs. */
export type Entry =
  | { script: string; args?: readonly string[] }
  | { module: string; args?: readonly string[] }
  | { command: string; args?: readonly string[] }
  | { trainer: DdpTrainer };

/** Which of a rank's streams: torchrun's 0 none, 1 stdout, 2 stderr, 3 both. */
export type StdSelection = 'none' | 'stdout' | 'stderr' | 'all';

/** `'all'`, or a per-local-rank map like torchrun's `0:1,1:2`. */
export type StdSpec = StdSelection | Readonly<Record<number, StdSelection>>;

/** Options of `launch()`, named after torchrun's flags. */
export interface LaunchOptions {
  /** What each rank runs. */
  entry: Entry;
  /**
   * Ranks on this node. `auto`: GPUs when CUDA is available, else CPUs (torchrun's rule). @default 1 (trainer mode:
   * from `trainer.args.device`)
   */
  nprocPerNode?: number | 'auto' | 'gpu' | 'cpu';
  /** Nodes in the job; `'MIN:MAX'` is accepted by the torchrun backend only. @default 1 */
  nnodes?: number | string;
  /** This node's rank. @default 0 */
  nodeRank?: number;
  /** Address where rank 0 hosts the c10d TCPStore. @default '127.0.0.1' */
  masterAddr?: string;
  /** Port of that store. @default a free port (single node); 29500 with several nodes */
  masterPort?: number;
  /** Restarts of the whole group after a failure. @default 0 */
  maxRestarts?: number;
  /** `TORCHELASTIC_RUN_ID`. @default 'none' */
  runId?: string;
  /** Per-rank logs go to `logDir/attempt_<k>/<rank>/stdout.log|stderr.log`. @default no log files */
  logDir?: string;
  /** Streams written to log files instead of the console. @default 'none' */
  redirects?: StdSpec;
  /** Streams written to log files and the console. @default 'none' */
  tee?: StdSpec;
  /** Local ranks whose output reaches the console. @default all */
  localRanksFilter?: readonly number[];
  /** Time between the stop signal and SIGKILL. @default 30000 (torchrun's) */
  gracePeriodMs?: number;
  /**
   * What each rank's main process gets on a graceful stop (a signal to ddprun, `stop()`, `ddprun stop`, a
   * preemption); the rest of its process group gets it once the main process has exited.
   * @default 'SIGTERM'
   */
  stopSignal?: NodeJS.Signals;
  /** Python interpreter. @default found by `findPython()` */
  python?: string;
  /** Working directory of the ranks. @default process.cwd() */
  cwd?: string;
  /** Extra variables for every rank. @default {} */
  env?: Readonly<Record<string, string>>;
  /** Aborting stops the launch like SIGTERM would. */
  signal?: AbortSignal;
  /** `native`: ddprun spawns the ranks; `torchrun`: `python -m torch.distributed.run` does. @default 'native' */
  backend?: 'native' | 'torchrun';
  /** How long a node waits for the others (rank 0's store). @default 900000 */
  rdzvTimeoutMs?: number;
  /** torchrun backend: rendezvous backend. @default 'static' when nnodes is a number, else 'c10d' */
  rdzvBackend?: string;
  /** torchrun backend: `HOST:PORT` of the rendezvous. @default `${masterAddr}:${masterPort}` */
  rdzvEndpoint?: string;
  /** torchrun backend: rendezvous id. @default runId */
  rdzvId?: string;
  /** Forward process signals (SIGINT/SIGTERM/SIGHUP) to the ranks while running. @default true */
  handleSignals?: boolean;
  /** Write rank output and the root cause to the console (process.stdout/stderr). @default true */
  console?: boolean;
  /** Trainer mode: the config folder whose `DDP/` receives the entry file. @default getUserConfigDir() */
  configDir?: string;
  /**
   * How often each rank's process tree is sampled (CPU, RSS, GPU) for `resources` events; 0 turns sampling off.
   * @default 1000
   */
  resourceIntervalMs?: number;
  /**
   * Report a hang when for this long no rank printed a line and no rank's process tree used CPU; 0: never. @default 0
   */
  hangTimeoutMs?: number;
  /**
   * On a hang: `dump` reports it (again only after new activity and a new silence); `stop` also stops the job.
   * @default 'dump'
   */
  onHang?: 'dump' | 'stop';
  /**
   * Let ddprun dump every rank's Python stack on demand (`dumpStacks()`, `ddprun stacks`) and before a teardown's
   * SIGKILL: a faulthandler bootstrap on PYTHONPATH (README, "When things go wrong"). @default true when hangTimeoutMs
   * is set, else false
   */
  stackDumps?: boolean;
  /**
   * Record the run in the run store (`$DDPRUN_STATE_DIR`, else `$XDG_STATE_HOME/ddprun`, else `~/.local/state/ddprun`).
   * @default true
   */
  record?: boolean;
  /**
   * A name for the run in the run store, usable wherever an id is (`ddprun logs foo`, `getRun('foo')`): a letter, then
   * letters, digits, `.`, `_`, `-` (64 at most; not `last`). Several runs may carry one name; it names the newest.
   * @default none
   */
  name?: string;
  /**
   * The store's cap on each rank's output per stream and attempt (the head and the most recent part are kept).
   * @default 67108864 (64 MiB)
   */
  recordMaxLogBytes?: number;
  /** torchrun's `--role`: `ROLE_NAME` of every rank. @default 'default' */
  role?: string;
  /** torchrun's `--rdzv-conf` entries, passed to the torchrun backend (ours, like `join_timeout`, are overridden). */
  rdzvConf?: Readonly<Record<string, string>>;
  /** torchrun's `--virtual-local-rank`: every rank sees `LOCAL_RANK=0` and only its own GPU. @default false */
  virtualLocalRank?: boolean;
  /**
   * The one rank shown on this node (one rank, or `localRanksFilter` selecting one) gets ddprun's stdin, stdout and
   * stderr (the terminal): `breakpoint()` and `isatty()` work as under torchrun; its output has no prefix and is not
   * captured (no log files, no `line` events). Needs a terminal on stdin and the native backend. @default false
   */
  interactive?: boolean;
  /**
   * Console line prefix, torchrun's `TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE` (`${rank}`, `${local_rank}`,
   * `${role_name}`). @default '[rank${rank}]:'
   */
  linePrefixTemplate?: string;
  /**
   * Trainer mode, native backend, one node: a restart after a failure resumes from the run folder's `weights/last.pt`
   * when this run wrote it (the next attempt's entry file gets `resume='<run folder>/weights/last.pt'`). `false`: every
   * restart starts the training again, as torchrun would. @default true
   */
  resume?: boolean;
}

/** One rank's command, as it will be spawned. */
export interface RankPlan {
  localRank: number;
  rank: number;
  argv: readonly string[];
  cwd: string;
  /** Only the variables ddprun sets (merged over process.env when spawned). */
  env: Readonly<Record<string, string>>;
  errorFile: string;
  stdoutLog: string | undefined;
  stderrLog: string | undefined;
}

/** Everything one attempt will do, decided before anything is done. */
export interface LaunchPlan {
  attempt: number;
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  ranks: readonly RankPlan[];
  /** Files the launch writes (trainer entry file, log files); shown by --dry-run. */
  files: readonly string[];
}

/** The first failure of a run, explained. */
export interface RootCause {
  rank: number;
  localRank: number;
  pid: number | undefined;
  host: string;
  /** ISO time of the exit. */
  time: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Python traceback from the error file, else the tail of stderr. */
  traceback: string;
  /** Where `traceback` came from (`stacks`: a hang, the ranks' Python stacks). */
  source: 'error-file' | 'stderr' | 'stacks' | 'none';
  /** One line: the exception message when known. */
  message: string;
  /** What happened, in words a user acts on (see `Explanation`); set for every failed launch. */
  explanation?: Explanation;
}

/** One rank's Python stacks (all threads), as faulthandler prints them. */
export interface RankStacks {
  rank: number;
  localRank: number;
  pid: number;
  /** faulthandler's dump ("Thread 0x… (most recent call first):" blocks); empty when none came. */
  stacks: string;
  /** Where the main thread is: "`barrier` (distributed_c10d.py:3145), called from `main` at train.py:42". */
  where: string;
  /** Why there is no dump (stack dumps off, the rank is not Python, it did not answer). */
  error?: string;
}

/** Stable names of the failures ddprun recognises (README, "When things go wrong"). */
export type ExplanationKind =
  | 'oom-killed'
  | 'killed'
  | 'cuda-oom'
  | 'shm'
  | 'nccl'
  | 'segfault'
  | 'import-error'
  | 'port-in-use'
  | 'rendezvous-timeout'
  | 'peer-failed'
  | 'hang'
  | 'script-usage'
  | 'exception'
  | 'exit-code';

/** A failure explained: a stable kind, one sentence of what happened, one hint of what to do. */
export interface Explanation {
  kind: ExplanationKind;
  message: string;
  hint: string;
}

export interface RankResult {
  rank: number;
  localRank: number;
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Highest RSS of the rank's process tree (the rank and its children) seen by the sampler. */
  peakRssBytes?: number;
  /** CPU time of the rank's process tree, as sampled. */
  cpuSeconds?: number;
  /** Highest GPU memory of the rank's process tree (nvidia-smi), when known. */
  peakGpuMemoryBytes?: number;
}

/** One rank's process tree (the rank and its children: data-loader workers) at one sample. */
export interface RankResources {
  rank: number;
  localRank: number;
  pid: number;
  /** Processes in the tree. */
  processes: number;
  /** CPU used since the previous sample, in % of one core (200 = two cores busy). */
  cpuPercent: number;
  rssBytes: number;
  /** GPU memory of the tree's processes (nvidia-smi), when known. */
  gpuMemoryBytes?: number;
  /** Utilisation of the GPU(s) the rank runs on, when known. */
  gpuUtilPercent?: number;
}

/** A progress-bar update on rank 0 (tqdm's default format or Ultralytics' bar), at most 2 a second. */
export interface ProgressEvent {
  rank: number;
  stream: 'stdout' | 'stderr';
  /** Which printer drew the bar. */
  format: 'tqdm' | 'ultralytics';
  /** The text before the percentage, without colours ('' when none). */
  desc: string;
  n: number;
  total: number;
  /** The unit of n, total and rate (`it`, `B`, …). */
  unit: string;
  /** Units a second, when the bar shows it. */
  rate?: number;
  /** Seconds since the bar started. */
  elapsed?: number;
  /** Seconds left, as the bar says or estimated from elapsed and n/total. */
  remaining?: number;
}

/** One finished epoch of an Ultralytics run: a new row of `<run folder>/results.csv`. */
export interface EpochEvent {
  /** 1-based, as Ultralytics numbers them. */
  epoch: number;
  /** Epochs the run will train (`epochs` in the run folder's args.yaml, else the trainer's args, else 100). */
  epochs: number;
  /** Every other column of the row, by its header name (`train/box_loss`, `metrics/mAP50-95(B)`, `time`, …). */
  metrics: Record<string, number>;
  /** When ddprun read the row (ISO 8601 with milliseconds). */
  t: string;
}

/** Where a metric was read (see docs/metrics.md). */
export type MetricSource = 'dict' | 'json' | 'csv' | 'tensorboard';

/**
 * One value of a training metric a rank logged: a printed log dict (Hugging Face), the one-line JSON form, a row of
 * Lightning's metrics.csv or a scalar of a TensorBoard event file. A script that logs every step is thinned (see
 * `n`): the store keeps a bounded number of events per metric.
 */
export interface MetricEvent {
  /** As the script named it (`loss`, `eval_loss`, `train/loss`, `val_acc`). */
  name: string;
  /** The value (NaN and ±Infinity are kept as the script logged them; in JSON they read as null). */
  value: number;
  /** The global step, when the source gives one. */
  step?: number;
  /** The epoch, when the source gives one (Hugging Face logs fractions: 0.25, 0.5…). */
  epoch?: number;
  /** The global rank whose output or files it came from (the files of the run's folder count as rank 0's). */
  rank: number;
  source: MetricSource;
  /** When ddprun read it (ISO 8601 with milliseconds). */
  t: string;
  /** Thinned: this event stands for `n` values logged since the previous one (it carries the last); their extremes. */
  n?: number;
  min?: number;
  max?: number;
}

/** A restart of the whole group is about to start. */
export interface RestartingEvent {
  /** The attempt about to start (0-based: 1 is the first restart). */
  attempt: number;
  /** Why: the failure that ended the previous attempt (or a port retry). */
  reason: string;
  /**
   * Trainer mode: the checkpoint the attempt resumes from (`<run folder>/weights/last.pt`); absent for a fresh start.
   */
  resumeFrom?: string;
  /**
   * With `resumeFrom`: the last epoch the run folder's results.csv recorded (1-based); training goes on from the next
   * one.
   */
  epoch?: number;
}

/** The run folder an Ultralytics trainer announced (`Logging results to <dir>`), as an absolute path. */
export interface TrainingEvent {
  saveDir: string;
  epochs: number;
}

/** What an Ultralytics training run produced (trainer mode, once its run folder is known). */
export interface TrainingOutcome {
  /** The run folder, absolute (`runs/detect/train3`). */
  saveDir: string;
  task: 'detect' | 'segment' | 'pose' | 'obb' | 'classify';
  /** The column that matters for the task (`metrics/mAP50-95(B)` for detection). */
  keyMetric: string;
  epochs: number;
  /** Rows in results.csv (epochs finished, earlier attempts and resumed runs included). */
  epochsDone: number;
  /** `weights/best.pt` / `weights/last.pt`, when they exist. */
  bestPt: string | undefined;
  lastPt: string | undefined;
  /** The epoch Ultralytics keeps as best.pt (its fitness), with that epoch's metrics. */
  best: { epoch: number; fitness: number; metrics: Record<string, number> } | undefined;
  /** The last epoch's metrics. */
  final: { epoch: number; metrics: Record<string, number> } | undefined;
}

/**
 * A stop that came from outside: a SIGTERM that no `ddprun stop` asked for (a scheduler, Kubernetes, `kill`), or
 * the scheduler's warning signal (`DDPRUN_PREEMPT_SIGNAL`, which `ddprun slurm --requeue` sets).
 */
export interface Preemption {
  /** The signal ddprun got. */
  signal: NodeJS.Signals;
  /** Who sent it, as far as ddprun can tell (Node gives no sender pid): Slurm's job, Kubernetes, or unknown. */
  sender: string;
}

export interface LaunchResult {
  /** 0 on success; the failing rank's code; 128+N when stopped by signal N; 75 when preempted. */
  exitCode: number;
  /** Set when the launch was stopped by a signal (forwarded or `stop()`). */
  signal: NodeJS.Signals | null;
  /** Set when that stop was a preemption (see `Preemption`); its status in the run store is `preempted`. */
  preempted?: Preemption;
  /** Ranks of the last attempt. */
  ranks: readonly RankResult[];
  /** Attempts made (1 when the first succeeded). */
  attempts: number;
  /** Restarts caused by a taken port (not counted against maxRestarts). */
  portRetries: number;
  rootCause: RootCause | undefined;
  durationMs: number;
  /** Trainer mode: the run folder, weights, best epoch and final metrics (absent until a run folder was announced). */
  training?: TrainingOutcome;
  /** Trainer mode: the attempts that resumed from a checkpoint rather than starting again (in order). */
  resumes?: ResumeRecord[];
}

/** One attempt that resumed from the run's own `last.pt` (see `RestartingEvent`). */
export interface ResumeRecord {
  attempt: number;
  resumeFrom: string;
  epoch: number | undefined;
}

export interface LaunchEvents {
  started: [{ attempt: number; rank: number; localRank: number; pid: number; masterPort: number }];
  /** `progress`: the text is a `\r` state of a line not yet finished (tqdm), which a terminal shows in place. */
  line: [{ rank: number; localRank: number; stream: 'stdout' | 'stderr'; text: string; progress?: true }];
  exited: [
    { attempt: number; rank: number; localRank: number; exitCode: number | null; signal: NodeJS.Signals | null },
  ];
  restarting: [RestartingEvent];
  /** Each rank's resources, at most once a second (see `resourceIntervalMs`). */
  resources: [{ attempt: number; ranks: RankResources[] }];
  /** No rank printed or used CPU for `idleMs` (see `hangTimeoutMs`): every rank's stacks; once per silence. */
  hang: [{ attempt: number; idleMs: number; action: 'dump' | 'stop'; ranks: RankStacks[] }];
  /**
   * Stacks dumped on request (`dumpStacks()`, `ddprun stacks`) or of ranks that outlived the grace period of a
   * teardown.
   */
  stacks: [{ attempt: number; reason: 'request' | 'teardown'; ranks: RankStacks[] }];
  /** Trainer mode: the run folder is known. */
  training: [TrainingEvent];
  /** Trainer mode: an epoch finished (a results.csv row). */
  epoch: [EpochEvent];
  /** A progress bar moved on rank 0. */
  progress: [ProgressEvent];
  /** A training metric was logged (see `MetricEvent`). */
  metric: [MetricEvent];
  /** A stop was asked for (a forwarded signal, `stop()`, an abort); `force`: the second one, which SIGKILLs. */
  stopping: [{ signal: NodeJS.Signals; force: boolean; rankSignal?: NodeJS.Signals; preempted?: Preemption }];
  /** Something the user should know that does not stop the launch (a default chosen for them, a log not written). */
  warning: [WarningEvent];
  /**
   * A rank's raw output, each chunk as read from its pipe (under the torchrun backend: each demuxed line); the run
   * store keeps these byte for byte. rank -1: a torchrun agent's own output.
   */
  output: [OutputEvent];
  done: [LaunchResult];
}

/** See `LaunchEvents.warning`. */
export interface WarningEvent {
  message: string;
}

/** See `LaunchEvents.output`. */
export interface OutputEvent {
  attempt: number;
  rank: number;
  localRank: number;
  stream: 'stdout' | 'stderr';
  chunk: Buffer | string;
}

/** `LaunchOptions` with every default filled and every value checked (see `resolveOptions`). */
export interface ResolvedOptions {
  entry: Entry;
  backend: 'native' | 'torchrun';
  /** Absolute interpreter path; undefined only for a `command` entry. */
  python: string | undefined;
  /** Torch version of `python` when it had to be probed (`auto`, torchrun backend), else undefined. */
  torchVersion: string | undefined;
  nprocPerNode: number;
  /** Minimum and maximum nodes (equal unless the torchrun backend was given `MIN:MAX`). */
  minNodes: number;
  maxNodes: number;
  nodeRank: number;
  masterAddr: string;
  /** Undefined until chosen: a free port is found per attempt on a single node. */
  masterPort: number | undefined;
  /** True when the user gave the port (then a taken port is an error, not a retry). */
  masterPortFixed: boolean;
  maxRestarts: number;
  runId: string;
  logDir: string | undefined;
  /** Per local rank: which streams go to files only / to files and console. */
  redirects: readonly StdSelection[];
  tee: readonly StdSelection[];
  /** Local ranks whose output reaches the console. */
  localRanksFilter: ReadonlySet<number>;
  gracePeriodMs: number;
  stopSignal: NodeJS.Signals;
  cwd: string;
  env: Readonly<Record<string, string>>;
  signal: AbortSignal | undefined;
  rdzvTimeoutMs: number;
  rdzvBackend: string;
  rdzvEndpoint: string | undefined;
  rdzvId: string;
  handleSignals: boolean;
  console: boolean;
  /** Interface gloo/NCCL should use (set when several nodes and the user set none). */
  socketIfname: string | undefined;
  /** torchrun backend, c10d: whether this node hosts the rendezvous store (its endpoint is a local address). */
  rdzvIsHost: boolean | undefined;
  /** Warnings to print once (e.g. OMP_NUM_THREADS, master address not owned). */
  warnings: readonly string[];
  /** Prefix that makes a rank die with its launcher (`setpriv --pdeathsig KILL --`); empty where unavailable. */
  deathSigWrapper: readonly string[];
  /** Per-launch folder for error files (`attempt_<k>/<localRank>/error.json`); created at launch, removed after. */
  runDir: string;
  /** Config folder whose `DDP/` receives trainer-mode entry files. */
  configDir: string | undefined;
  /** Resource sampling, hang detection and stack dumps, resolved. */
  insight: ResolvedInsight;
  /** Whether the run is recorded in the run store. */
  record: boolean;
  /** The run's name in the store, when given. */
  name: string | undefined;
  /** The store's cap on each rank's output per stream and attempt. */
  recordMaxLogBytes: number;
  /** torchrun's role (`ROLE_NAME`). @default 'default' */
  role?: string;
  /** torchrun's `--rdzv-conf` entries for the torchrun backend. */
  rdzvConf?: Readonly<Record<string, string>>;
  virtualLocalRank?: boolean;
  /** The one rank shown gets the terminal (see `LaunchOptions.interactive`). */
  interactive?: boolean;
  /** undefined: ddprun's `[rank<N>]:`. */
  linePrefixTemplate?: string;
  /** Descriptors ddprun inherited without close-on-exec, closed in each rank (torchrun's close_fds). */
  closeFds?: readonly number[];
  /** Trainer mode: restarts resume from the run's own last.pt (see `LaunchOptions.resume`). */
  resume: boolean;
}

/** The options of `src/insight/` with every default filled. */
export interface ResolvedInsight {
  /** Milliseconds between resource samples; 0: no sampling. */
  resourceIntervalMs: number;
  /** 0: no hang detection. */
  hangTimeoutMs: number;
  onHang: 'dump' | 'stop';
  /** Whether the ranks get the faulthandler bootstrap (native backend only). */
  stackDumps: boolean;
}

/** A running launch: its result, its live events, and a way to stop it. */
export interface LaunchHandle {
  /**
   * The run's id in the run store (`ddprun show <id>`, `getRun(id)`); undefined with `record: false` or when the store
   * could not be written.
   */
  readonly runId: string | undefined;
  /**
   * Settles when every rank of the last attempt has exited and everything was cleaned up; never rejects for a worker
   * failure (see `exitCode`), rejects only for bad options or an internal error.
   */
  readonly result: Promise<LaunchResult>;
  on<K extends keyof LaunchEvents>(event: K, listener: (...args: LaunchEvents[K]) => void): this;
  off<K extends keyof LaunchEvents>(event: K, listener: (...args: LaunchEvents[K]) => void): this;
  /**
   * Stops every rank leader-first (its main process gets `signal`, the rest of its group once the main process has
   * exited, SIGKILL after the grace period); a second call with the same handle SIGKILLs at once.
   * @default the `stopSignal` option (SIGTERM)
   */
  stop(signal?: NodeJS.Signals): void;
  /**
   * Every live rank's Python stacks (all threads), also emitted as a `stacks` event; rejects when stack dumps are off.
   */
  dumpStacks(): Promise<RankStacks[]>;
}
