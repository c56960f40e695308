import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, expect } from 'vitest';
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { CLI, ensureBuilt } from '../cli/helpers.js';
import {
  createTwoNodeNetwork,
  sweepStaleNamespaces,
  type TwoNodeNetwork,
  type TwoNodeNetworkOptions,
} from './netns.js';

/** A command running inside one node's namespace, with its output collected. */
export interface NodeProcess {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** `performance.now()` when the process exited (set with `exit`). */
  exitedAt: number | undefined;
  /** Resolves when the process has exited and its output is read. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The caller's environment without an interface choice, so ddprun (or the test) decides it. */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { GLOO_SOCKET_IFNAME: _gloo, NCCL_SOCKET_IFNAME: _nccl, ...env } = process.env;
  return { ...env, ...extra };
}

/** Runs argv inside node `node`'s namespace (`ip netns exec`, which execs: the child's pid is the command's). */
export function startOnNode(
  net: TwoNodeNetwork,
  node: 0 | 1,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = baseEnv(),
): NodeProcess {
  const full = net.exec(node, argv);
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  const proc: NodeProcess = {
    child,
    stdout: '',
    stderr: '',
    exitedAt: undefined,
    exit: new Promise((resolve) => {
      child.on('exit', () => (proc.exitedAt = performance.now()));
      child.on('close', (code, signal) => resolve({ code, signal }));
    }),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (proc.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (proc.stderr += chunk));
  return proc;
}

/** `ddprun <args>` (the built CLI) inside node `node`'s namespace. */
export function startDdprun(
  net: TwoNodeNetwork,
  node: 0 | 1,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): NodeProcess {
  return startOnNode(net, node, [process.execPath, CLI, ...args], env);
}

/**
 * Builds dist/ when it is older than src/ (`npm test` builds first). Others edit src/ while these tests run: when
 * that build fails but a CLI was already built, the tests go on with it (typecheck and build report the error).
 */
export function ensureCli(): void {
  try {
    ensureBuilt();
  } catch (error) {
    if (!existsSync(CLI)) throw error;
    console.warn(`building dist/ failed; using the CLI already built: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Rejects with "<what> did not happen within <ms> ms" when `promise` takes longer. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `rank:sum` of every `allreduce rank=R … sum=S` line (any prefix), sorted. */
export function sums(output: string): string[] {
  return [...output.matchAll(/allreduce rank=(\d+) .*? sum=(\d+) /g)].map((m) => `${m[1]}:${m[2]}`).sort();
}

/** Destroys the two-node network, then checks that every node process was reaped and the namespaces are gone. */
export async function tearDownNetwork(net: TwoNodeNetwork | undefined, procs: readonly NodeProcess[]): Promise<void> {
  await net?.destroy();
  // destroy() SIGKILLed whatever was left inside; every process started here must now be reaped.
  await within(Promise.all(procs.map((p) => p.exit)), 10_000, 'every node process exiting after destroy()');
  if (net)
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(net.nodes[0].ns.slice(0, -2));
}

/**
 * The two-node tests' set-up, called inside their `describe`: before the tests, the CLI is built and the namespaces
 * a crashed run left are swept; after each test, its network is destroyed and every node process in `procs` must
 * have been reaped (`tearDownNetwork`).
 */
export function useTwoNodeNetworks(): {
  /** A new two-node network for this test. */
  createNetwork: (options?: TwoNodeNetworkOptions) => Promise<TwoNodeNetwork>;
  /** The node processes this test started. */
  procs: NodeProcess[];
} {
  let net: TwoNodeNetwork | undefined;
  const procs: NodeProcess[] = [];
  beforeAll(async () => {
    ensureCli();
    await sweepStaleNamespaces();
  });
  afterEach(async () => {
    try {
      await tearDownNetwork(net, procs);
    } finally {
      net = undefined;
      procs.splice(0);
    }
  });
  return {
    createNetwork: async (options) => (net = await createTwoNodeNetwork(options)),
    procs,
  };
}
