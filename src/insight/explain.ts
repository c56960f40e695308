import { isMasterPortTaken } from './failure.js';
import type { Explanation, RootCause } from '../model/types.js';
import { formatBytes } from './format-bytes.js';
import { describeWhere, parseFrames } from './frames.js';
import type { OomKill } from './kernel-log.js';
import type { ShmSize } from '../os/shm.js';

/** What ddprun knows about a failed rank beyond its exit and its traceback. */
export interface FailureFacts {
  /** The kernel's OOM-kill line for the rank's pid, when there is one. */
  oomKill?: OomKill | undefined;
  /** OOM kills counted by the rank's memory cgroup, and its limit. */
  cgroup?: { oomKills: number; limitBytes: number | undefined } | undefined;
  /** The rank's peak RSS (its whole process tree) as sampled. */
  peakRssBytes?: number | undefined;
  /** The machine's memory, when no cgroup limit applies. */
  totalMemoryBytes?: number | undefined;
  /** The interpreter that ran the rank. */
  python?: string | undefined;
  /** For an import error: other interpreters where the module is found, with its path there. */
  moduleFoundIn?: readonly { python: string; origin: string }[] | undefined;
  /** `ddprun train`'s trainer module and the launch directory it is imported from (see `importPathEnv`). */
  trainer?: { module: string; cwd: string } | undefined;
  masterPort?: number | undefined;
  /** `/dev/shm` as ddprun saw it when the failure was explained (null: there is none), for a shared-memory failure. */
  shm?: ShmSize | null | undefined;
}

const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT', 'SIGILL', 'SIGFPE']);
const CRASH_WORDS: Record<string, string> = {
  SIGSEGV: 'a segmentation fault',
  SIGBUS: 'a bus error',
  SIGABRT: 'an abort',
  SIGILL: 'an illegal instruction',
  SIGFPE: 'a floating-point exception',
};

// A collective that broke because the other side went away: gloo's and NCCL's words for it.
const PEER_GONE =
  /Connection closed by peer|Connection reset by peer|remote process exited or there was a network error|NCCL communicator was aborted|gloo\/transport\/tcp\/[\w.]+:\d+\].*(Broken pipe|Connection refused)/;
const NCCL = /NCCL error|\bnccl\w*Error\b|Watchdog caught collective operation timeout|ProcessGroupNCCL|NCCL WARN/;
const CUDA_OOM = /CUDA out of memory|torch\.cuda\.OutOfMemoryError|CUDA error: out of memory/;
const RENDEZVOUS_TIMEOUT =
  /DistStoreError: Timed out|Timed out initializing process group|RendezvousTimeoutError|Socket Timeout|client socket has timed out|timed out trying to connect to|Timed out waiting for clients/i;
// DataLoader workers that could not put a batch in /dev/shm: the bus error torch reports for a worker, the older
// "No space left on device" of a /torch_* file, and torch ≥ 2's failed allocation.
export const SHM_FULL =
  /insufficient shared memory \(shm\)|workers are out of shared memory|unable to allocate shared memory\(shm\)|unable to write to file <\/torch_[^>]*>: No space left on device/;
const IMPORT = /^(ModuleNotFoundError|ImportError): (.*)$/m;

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function who(rc: RootCause): string {
  return rc.rank >= 0 ? `rank ${rc.rank}` : `local rank ${rc.localRank}`;
}

function cudaOom(rc: RootCause, text: string): Explanation {
  // torch ≥ 2.1: "Tried to allocate 22.00 MiB. GPU 0 has a total capacity of 23.65 GiB of which 11.06 MiB is free."
  // older: "Tried to allocate 20.00 MiB (GPU 0; 1.96 GiB total capacity; …; 2.88 MiB free; …)".
  const tried = /Tried to allocate ([\d.]+ [KMGT]?i?B)/.exec(text)?.[1];
  const modern = /GPU (\d+) has a total capac\w* of ([\d.]+ [KMGT]?i?B) of which ([\d.]+ [KMGT]?i?B) is free/.exec(
    text,
  );
  const legacy = /\(GPU (\d+); ([\d.]+ [KMGT]?i?B) total capacity;.*?([\d.]+ [KMGT]?i?B) free/.exec(text);
  const [, gpu, total, free] = modern ?? legacy ?? [];
  const detail = gpu
    ? ` on GPU ${gpu}${tried ? `: it tried to allocate ${tried} with ${free} free of ${total}` : ''}`
    : tried
      ? `: it tried to allocate ${tried}`
      : '';
  return {
    kind: 'cuda-oom',
    message: `${who(rc)} ran out of GPU memory${detail}.`,
    hint: 'Lower the batch size (or use gradient accumulation, mixed precision, activation checkpointing); when much memory is "reserved but unallocated", set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True; check with nvidia-smi that no other process holds that GPU.',
  };
}

function nccl(rc: RootCause, text: string): Explanation {
  const watchdog =
    /Watchdog caught collective operation timeout: WorkNCCL\((?:.*?OpType=(\w+))?.*?Timeout\(ms\)=(\d+)\)/.exec(text);
  const error = /NCCL error[^,]*, ([^(\n]+?)\s*(\(run with|,|\n|$)/.exec(text)?.[1];
  const message = watchdog
    ? `${who(rc)}'s NCCL ${watchdog[1] ?? 'collective'} timed out after ${Number(watchdog[2]) / 1000} s (NCCL watchdog): some rank stopped calling it.`
    : `NCCL failed on ${who(rc)}${error ? `: ${error}` : ''}.`;
  return {
    kind: 'nccl',
    message,
    hint: watchdog
      ? 'Find the rank that did not reach the collective (a hang: --hang-timeout dumps every rank’s stack); rerun with NCCL_DEBUG=INFO for NCCL’s own log.'
      : 'Rerun with NCCL_DEBUG=INFO to see which call failed; check NCCL_SOCKET_IFNAME names the interface the nodes reach each other on, and that every node has the same NCCL and driver.',
  };
}

function sharedMemory(rc: RootCause, facts: FailureFacts): Explanation {
  const shm = facts.shm;
  const size = shm
    ? `${shm.path} is ${formatBytes(shm.sizeBytes)} here (${formatBytes(shm.freeBytes)} free now)`
    : shm === null
      ? '/dev/shm is missing here'
      : '';
  return {
    kind: 'shm',
    message: `${who(rc)}'s DataLoader workers ran out of shared memory${size ? `: ${size}` : ''}.`,
    hint: `DataLoader workers hand every batch to their rank through /dev/shm, which a container keeps small (Docker: 64 MB). Make it larger: Docker \`--shm-size=8g\` (or \`--ipc=host\`); Kubernetes: an \`emptyDir: {medium: Memory, sizeLimit: 8Gi}\` volume mounted at /dev/shm; or use fewer \`num_workers\` or smaller batches.`,
  };
}

function importError(rc: RootCause, line: string, facts: FailureFacts): Explanation {
  const module = /No module named '([^']+)'/.exec(line)?.[1] ?? /cannot import name '([^']+)'/.exec(line)?.[1];
  const python = facts.python ?? 'the interpreter';
  const message = `${who(rc)} could not import ${module ? `\`${module}\`` : 'a module'} with ${python} (${line.split(':')[0]}).`;
  const found = facts.moduleFoundIn ?? [];
  const top = module?.split('.')[0];
  const trainer = facts.trainer;
  const hint =
    found.length > 0
      ? `\`${top}\` is installed for ${found.map((f) => `${f.python} (${f.origin})`).join(', ')}: run with --python ${found[0]!.python}, or install it for ${python}.`
      : trainer && top === trainer.module.split('.')[0]
        ? `\`${top}\` is the trainer's module: the ranks import it from the launch directory (${trainer.cwd}), then PYTHONPATH, and neither has it: run ddprun from the folder that holds ${top}.py (or the ${top}/ package), add that folder to PYTHONPATH, or install it for ${python}.`
        : `No other Python found here has \`${top ?? 'it'}\`: install it for ${python} (\`${python} -m pip install …\`; the package name may differ from the module's), or check PYTHONPATH and the working directory.`;
  return { kind: 'import-error', message, hint };
}

function memoryOf(facts: FailureFacts): string {
  const peak = facts.peakRssBytes;
  const limit = facts.cgroup?.limitBytes;
  if (peak === undefined) {
    const atKill = facts.oomKill?.rssBytes;
    return atKill === undefined ? '' : ` (RSS ${formatBytes(atKill)} when killed)`;
  }
  if (limit !== undefined) return ` (peak RSS ${formatBytes(peak)} of its ${formatBytes(limit)} memory cgroup limit)`;
  if (facts.totalMemoryBytes && !facts.oomKill?.cgroup)
    return ` (peak RSS ${formatBytes(peak)} of ${formatBytes(facts.totalMemoryBytes)})`;
  return ` (peak RSS ${formatBytes(peak)})`;
}

/** Names what happened to the root-cause rank, from its exit, its traceback and what the kernel said. */
export function explainFailure(rc: RootCause, facts: FailureFacts = {}): Explanation {
  const explanation = classify(rc, facts);
  return { ...explanation, message: cap(explanation.message) };
}

type Classifier = (rc: RootCause, text: string, facts: FailureFacts) => Explanation | undefined;

function pidOf(rc: RootCause): string {
  return rc.pid === undefined ? '' : `pid ${rc.pid}`;
}

const oomKilled: Classifier = (rc, _text, facts) => {
  if (rc.signal !== 'SIGKILL' || !(facts.oomKill || (facts.cgroup?.oomKills ?? 0) > 0)) return undefined;
  const where =
    facts.oomKill?.cgroup || facts.cgroup ? 'its memory cgroup ran out of memory' : 'the machine ran out of memory';
  return {
    kind: 'oom-killed',
    message: `The kernel's OOM killer killed ${who(rc)} (${pidOf(rc)}): ${where}${memoryOf(facts)}.`,
    hint: 'Lower the batch size or the data-loader workers (each worker holds its own copy of what it loads), or give the job more memory.',
  };
};

const killedFromOutside: Classifier = (rc) => {
  if (rc.signal !== 'SIGKILL' && rc.signal !== 'SIGTERM' && rc.signal !== 'SIGINT' && rc.signal !== 'SIGHUP')
    return undefined;
  return {
    kind: 'killed',
    message: `${who(rc)} (${pidOf(rc)}) was killed by ${rc.signal} from outside the job (not by ddprun${rc.signal === 'SIGKILL' ? ', and not by the kernel’s OOM killer' : ''}).`,
    hint: `Something outside the job sent ${rc.signal}: a scheduler's time or memory limit, a person or a script running kill; the scheduler's log (or the audit log) says who.`,
  };
};

const peerFailed: Classifier = (rc, text) => {
  const reason = PEER_GONE.exec(text)?.[0];
  if (reason === undefined) return undefined;
  return {
    kind: 'peer-failed',
    message: `${who(rc)}'s collective failed because another rank went away (${reason}).`,
    hint: 'This rank is not the cause: look at the rank that failed first (on another node, when every rank here failed this way).',
  };
};

const crashed: Classifier = (rc, text) => {
  if (!rc.signal || !CRASH_SIGNALS.has(rc.signal)) return undefined;
  const frames = /Fatal Python error/.test(text) ? parseFrames(text.slice(text.indexOf('Fatal Python error'))) : [];
  const frame = frames[0];
  const at = frame ? ` in ${describeWhere(frames)}` : '';
  return {
    kind: 'segfault',
    message: `${who(rc)} crashed with ${rc.signal} (${CRASH_WORDS[rc.signal]} in native code)${at}.`,
    hint: frame
      ? `The Python stack below (faulthandler) shows the call that crashed (${frame.file}:${frame.line}); native crashes usually come from an extension module or mismatched torch/CUDA builds.`
      : 'Rerun with PYTHONFAULTHANDLER=1 (or --stack-dumps) to get the Python stack of the crash; native crashes usually come from an extension module or mismatched torch/CUDA builds.',
  };
};

const portInUse: Classifier = (rc, text, facts) => {
  if (!/address already in use|errno: ?98|EADDRINUSE/i.test(text)) return undefined;
  const ours = facts.masterPort !== undefined && isMasterPortTaken(rc, facts.masterPort);
  return {
    kind: 'port-in-use',
    message: ours
      ? `${who(rc)} could not bind MASTER_PORT ${facts.masterPort}: the address is already in use.`
      : `${who(rc)} could not bind an address of its own: it is already in use (not MASTER_PORT${facts.masterPort ? ` ${facts.masterPort}` : ''}).`,
    hint: ours
      ? 'Another job (or a run that has not exited) holds that port: choose another --master-port, or leave it out on a single node to get a free one.'
      : 'Another process holds the port the script binds (a metrics server, a second copy of the job): free it or change it in the script.',
  };
};

const rendezvousTimeout: Classifier = (rc, text) =>
  RENDEZVOUS_TIMEOUT.test(text)
    ? {
        kind: 'rendezvous-timeout',
        message: `${who(rc)} gave up waiting for the other ranks to join (rendezvous timed out).`,
        hint: 'Start every node with the same --nnodes, --master-addr and --master-port, and check that MASTER_ADDR:MASTER_PORT is reachable from every node (firewall, interface); raise --rdzv-timeout when nodes start far apart.',
      }
    : undefined;

/**
 * Exit 2 after argparse's (or click's) `usage:` block: the script refused its own command line (#24 item 14). Its 2 is
 * not ddprun's usage error: ddprun started the ranks; the hint says where a flag meant for ddprun goes.
 */
const scriptUsage: Classifier = (rc, text) => {
  if (rc.exitCode !== 2 || !/^usage: /im.test(text)) return undefined;
  const error = /^\S*: error: (.*)$/m.exec(text)?.[1] ?? /^Error: (.*)$/m.exec(text)?.[1];
  return {
    kind: 'script-usage',
    message: `${who(rc)} exited 2: the script refused its own command line${error ? ` (${error})` : ''}.`,
    hint: 'This is the script’s usage error, not ddprun’s (ddprun started the ranks): everything after the script goes to the script, so a ddprun flag must come before it (`ddprun --nproc-per-node 2 train.py --epochs 1`).',
  };
};

const exception: Classifier = (rc) =>
  /^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b/.test(rc.message)
    ? {
        kind: 'exception',
        message: `${who(rc)} raised ${rc.message}`.replace(/\.?$/, '.'),
        hint: 'The traceback below shows where; fix that error and rerun.',
      }
    : undefined;

/** The explanations in the order they are tried: the first that fits names the failure. */
const CLASSIFIERS: readonly Classifier[] = [
  oomKilled,
  killedFromOutside,
  (rc, text) => (CUDA_OOM.test(text) ? cudaOom(rc, text) : undefined),
  (rc, text, facts) => (SHM_FULL.test(text) ? sharedMemory(rc, facts) : undefined),
  peerFailed,
  (rc, text) => (NCCL.test(text) ? nccl(rc, text) : undefined),
  crashed,
  (rc, text, facts) => {
    const importLine = IMPORT.exec(text);
    return importLine ? importError(rc, importLine[0], facts) : undefined;
  },
  portInUse,
  rendezvousTimeout,
  scriptUsage,
  exception,
];

function classify(rc: RootCause, facts: FailureFacts): Explanation {
  const text = `${rc.message}\n${rc.traceback}`;
  for (const classifier of CLASSIFIERS) {
    const explanation = classifier(rc, text, facts);
    if (explanation) return explanation;
  }
  return {
    kind: 'exit-code',
    message: `${who(rc)} exited with code ${rc.exitCode ?? '?'}.`,
    hint: rc.traceback
      ? 'Its last lines of stderr are below.'
      : 'It printed nothing on stderr: look at its stdout, or decorate the entry point with torch.distributed.elastic.multiprocessing.errors.record for a traceback.',
  };
}
