import { UsageError } from '../../errors.js';
import { hostForUrl } from '../host.js';
import { parseTorchVersion, versionAtLeast } from '../../python/find-python.js';
import type { Entry, ResolvedOptions, StdSelection } from '../../model/types.js';

export interface TorchrunArgvOptions {
  /**
   * `[major, minor]` of the interpreter; the torch < 2.0 redirect fix is skipped below 3.11. @default unknown: the fix
   * is applied (it is harmless)
   */
  pythonVersion?: readonly [number, number];
  /**
   * c10d: whether this node hosts the rendezvous store (`--rdzv_conf is_host=…`), e.g. `isLocalAddress(endpoint host)`.
   * torchrun otherwise decides from the host name, which fails where it resolves to 127.0.0.1.
   * @default torchrun decides
   */
  rdzvHost?: boolean;
}

const STD_DIGIT: Record<StdSelection, string> = { none: '0', stdout: '1', stderr: '2', all: '3' };

/**
 * torch < 2.0 on Python >= 3.11: `Std.from_str` finds no member for `0` and `3` (3.11 no longer iterates
 * an IntFlag's zero and multi-bit members), so even torchrun's default `--redirects 0` dies with
 * "'NoneType' object has no attribute 'get'". This patches it the way torch 2.0 fixed it, then runs torchrun.
 */
export const TORCHRUN_REDIRECT_FIX = [
  'import re, runpy, sys',
  'from torch.distributed.elastic.multiprocessing import api',
  'def from_str(vm):',
  '    if re.match(api._VALUE_REGEX, vm): return api.Std(int(vm))',
  '    if re.match(api._MAPPING_REGEX, vm): return {int(k): api.Std(int(v)) for k, v in (m.split(":") for m in vm.split(","))}',
  '    raise ValueError(f"{vm} does not match: <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")',
  'api.Std.from_str = staticmethod(from_str)',
  'sys.argv[0] = "torchrun"',
  'runpy.run_module("torch.distributed.run", run_name="__main__", alter_sys=True)',
].join('\n');

/** The entry part of a torchrun command line: `script args`, `-m module args` or `--no_python command args`. */
export function torchrunEntryArgv(entry: Exclude<Entry, { trainer: unknown }>): string[] {
  if ('script' in entry) return [entry.script, ...(entry.args ?? [])];
  if ('module' in entry) return ['-m', entry.module, ...(entry.args ?? [])];
  return ['--no_python', entry.command, ...(entry.args ?? [])];
}

// Per-local-rank selections as torchrun writes them: one digit for all ranks, else `0:1,1:2`.
function stdFlag(
  option: 'redirects' | 'tee',
  selections: readonly StdSelection[],
  nprocPerNode: number,
): string | undefined {
  const digits = Array.from({ length: nprocPerNode }, (_, rank) => STD_DIGIT[selections[rank] ?? 'none']);
  if (digits.every((digit) => digit === '0')) return undefined;
  if (digits.every((digit) => digit === digits[0])) return digits[0];
  if (nprocPerNode > 10) {
    throw new UsageError(
      `torchrun cannot take a per-rank \`${option}\` with more than 10 ranks per node (its \`0:1,1:2\` form has one-digit ranks); use one setting for all ranks, or the native backend.`,
      option,
    );
  }
  return digits
    .map((digit, rank) => (digit === '0' ? undefined : `${rank}:${digit}`))
    .filter(Boolean)
    .join(',');
}

function rdzvConf(resolved: ResolvedOptions, rdzvHost: boolean | undefined): string {
  const seconds = Math.max(1, Math.ceil(resolved.rdzvTimeoutMs / 1000));
  // static and etcd read `timeout`; the dynamic backends (c10d, etcd-v2) read `join_timeout`.
  const key = resolved.rdzvBackend === 'static' || resolved.rdzvBackend === 'etcd' ? 'timeout' : 'join_timeout';
  const conf: Record<string, string> = { [key]: String(seconds) };
  // is_host=1 would stop torchrun falling back to a client when another agent on this host hosts the store (two
  // agents on one machine): on a loopback endpoint torchrun's own guess is right, so it is left to torchrun there.
  const host = (resolved.rdzvEndpoint ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  if (rdzvHost !== undefined && resolved.rdzvBackend === 'c10d' && !(rdzvHost && loopback))
    conf.is_host = rdzvHost ? '1' : '0';
  Object.assign(conf, resolved.rdzvConf ?? {});
  return Object.entries(conf)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function legacyLaunchArgv(
  resolved: ResolvedOptions,
  python: string,
  entryArgv: readonly string[],
  masterPort: number,
): string[] {
  const unsupported: [string, boolean][] = [
    ['nnodes', resolved.minNodes !== resolved.maxNodes],
    ['rdzvBackend', resolved.rdzvBackend !== 'static'],
    ['maxRestarts', resolved.maxRestarts > 0],
    ['logDir', resolved.logDir !== undefined],
    ['redirects', resolved.redirects.some((s) => s !== 'none')],
    ['tee', resolved.tee.some((s) => s !== 'none')],
  ];
  const found = unsupported.find(([, used]) => used);
  if (found) {
    throw new UsageError(
      `torch ${resolved.torchVersion} has no torchrun (torch.distributed.run came in 1.9), and its torch.distributed.launch has no \`${found[0]}\`; use the native backend or upgrade torch.`,
      found[0],
    );
  }
  return [
    python,
    '-m',
    'torch.distributed.launch',
    '--use_env',
    '--nnodes',
    String(resolved.minNodes),
    '--node_rank',
    String(resolved.nodeRank),
    '--nproc_per_node',
    String(resolved.nprocPerNode),
    '--master_addr',
    hostForUrl(resolved.masterAddr),
    '--master_port',
    String(masterPort),
    ...entryArgv,
  ];
}

/** `python -m torch.distributed.run`, or the redirect fix for torch < 2.0 on Python >= 3.11. */
function torchrunCommand(python: string, fixRedirects: boolean, pythonVersion?: readonly [number, number]): string[] {
  const needsFix =
    fixRedirects &&
    (pythonVersion === undefined || pythonVersion[0] > 3 || (pythonVersion[0] === 3 && pythonVersion[1] >= 11));
  return needsFix ? [python, '-c', TORCHRUN_REDIRECT_FIX] : [python, '-m', 'torch.distributed.run'];
}

/** `--node_rank/--master_addr/--master_port` for a static rendezvous, else `--rdzv_endpoint`. */
function endpointFlags(resolved: ResolvedOptions, endpointPort: number | undefined): string[] {
  if (resolved.rdzvBackend === 'static') {
    return [
      '--node_rank',
      String(resolved.nodeRank),
      '--master_addr',
      hostForUrl(resolved.masterAddr),
      '--master_port',
      String(endpointPort),
    ];
  }
  const endpoint =
    resolved.rdzvEndpoint ??
    (endpointPort === undefined ? undefined : `${hostForUrl(resolved.masterAddr)}:${endpointPort}`);
  if (endpoint === undefined)
    throw new UsageError(
      'torchrunArgv needs `resolved.rdzvEndpoint` or `resolved.masterPort` for a dynamic rendezvous.',
    );
  return ['--rdzv_endpoint', endpoint];
}

/**
 * `--log_dir`, `--redirects`, `--tee`, and `--local_ranks_filter` (torch >= 2.2) when they differ from torchrun's
 * defaults.
 */
function outputFlags(resolved: ResolvedOptions, ranksFilter: boolean): string[] {
  const argv: string[] = [];
  if (resolved.logDir !== undefined) argv.push('--log_dir', resolved.logDir);
  const redirects = stdFlag('redirects', resolved.redirects, resolved.nprocPerNode);
  if (redirects !== undefined) argv.push('--redirects', redirects);
  const tee = stdFlag('tee', resolved.tee, resolved.nprocPerNode);
  if (tee !== undefined) argv.push('--tee', tee);
  if (!ranksFilter) return argv;
  const shown = [...resolved.localRanksFilter]
    .filter((rank) => rank >= 0 && rank < resolved.nprocPerNode)
    .sort((a, b) => a - b);
  // torchrun cannot take an empty list; a rank that does not exist shows nothing.
  if (shown.length < resolved.nprocPerNode)
    argv.push('--local_ranks_filter', shown.length ? shown.join(',') : String(resolved.nprocPerNode));
  return argv;
}

/**
 * The command line of the torchrun backend: `python -m torch.distributed.run <flags> <entryArgv>`
 * (`torch.distributed.launch --use_env` before torch 1.9, the redirect fix before torch 2.0).
 * Flags use the underscore spellings, which every torchrun accepts (torch < 2.0 knows no other).
 * `entryArgv` comes last, as from `torchrunEntryArgv`. `localRanksFilter` needs torch >= 2.2 and is
 * left out before (the caller filters the console itself). An unknown `torchVersion` is taken as current.
 */
export function torchrunArgv(
  resolved: ResolvedOptions,
  entryArgv: readonly string[],
  options: TorchrunArgvOptions = {},
): string[] {
  const python = resolved.python;
  if (python === undefined)
    throw new UsageError('torchrunArgv needs `resolved.python`: torchrun runs in a Python interpreter.');
  const version = resolved.torchVersion === undefined ? undefined : parseTorchVersion(resolved.torchVersion);
  const atLeast = (major: number, minor: number) => version === undefined || versionAtLeast(version, major, minor);
  const isStatic = resolved.rdzvBackend === 'static';
  const endpointPort = resolved.masterPort;

  if (isStatic && endpointPort === undefined) {
    throw new UsageError(
      'torchrunArgv needs `resolved.masterPort` for a static rendezvous: choose the port before building the command.',
    );
  }
  if (!atLeast(1, 9)) return legacyLaunchArgv(resolved, python, entryArgv, endpointPort ?? 29500);

  const nnodes =
    resolved.minNodes === resolved.maxNodes ? String(resolved.minNodes) : `${resolved.minNodes}:${resolved.maxNodes}`;
  if (isStatic && resolved.minNodes !== resolved.maxNodes) {
    throw new UsageError(
      `A static rendezvous needs a fixed number of nodes, got \`nnodes\` ${nnodes}; use \`rdzvBackend: 'c10d'\` for an elastic range.`,
      'nnodes',
    );
  }
  return [
    ...torchrunCommand(python, !atLeast(2, 0), options.pythonVersion),
    ...['--nnodes', nnodes, '--nproc_per_node', String(resolved.nprocPerNode)],
    ...['--rdzv_backend', resolved.rdzvBackend, '--rdzv_id', resolved.rdzvId],
    ...['--rdzv_conf', rdzvConf(resolved, options.rdzvHost)],
    ...endpointFlags(resolved, endpointPort),
    ...['--max_restarts', String(resolved.maxRestarts)],
    ...outputFlags(resolved, atLeast(2, 2)),
    ...entryArgv,
  ];
}
