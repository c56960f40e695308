import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { until } from './procs.js';

const execFileAsync = promisify(execFile);

/** One "node": a network namespace with one end of the veth pair. */
export interface NetnsNode {
  /** Namespace name, for `ip netns exec`. */
  ns: string;
  /** Its link-local IPv4 address (169.254.X.1 or .2), on `ifname`. */
  addr: string;
  /** The veth end inside `ns`: what GLOO_SOCKET_IFNAME should name. */
  ifname: string;
  /** With `hostnames`: this node's own host name, resolving to `addr` on both nodes; else undefined (both share the machine's). */
  hostname: string | undefined;
}

export interface TwoNodeNetworkOptions {
  /**
   * Give each node its own host name (a UTS namespace) that resolves to its address on both nodes
   * (`/etc/netns/<ns>/hosts`), as on a well-configured cluster. torch 1.13's c10d rendezvous needs it: the
   * agents pick the store host and the workers' MASTER_ADDR from the host name. @default false: the machine's
   * host name, which resolves to 127.0.0.1 in both namespaces (the classic multi-node misconfiguration)
   */
  hostnames?: boolean;
}

export interface TwoNodeNetwork {
  nodes: readonly [NetnsNode, NetnsNode];
  /** `ip netns exec <ns> ...argv` (with `hostnames`, through `unshare --uts` to set the host name): spawn this to run argv on node `nodeIndex`. */
  exec(nodeIndex: 0 | 1, argv: readonly string[]): string[];
  /** Pids of the processes now inside node `nodeIndex`'s namespace. */
  pids(nodeIndex: 0 | 1): Promise<number[]>;
  /** SIGKILLs every process inside both namespaces, then deletes them; safe to call twice. */
  destroy(): Promise<void>;
}

const PREFIX = 'ddprun-';
const ETC_NETNS = '/etc/netns';
// ddprun-<creator pid>-<random>-a|b: the pid lets a later run sweep what a crashed one left.
const NAME = /^ddprun-(\d+)-[0-9a-f]+-[ab]$/;

const live = new Set<string>();
let exitHook: (() => void) | undefined;

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when this process can create namespaces: root and iproute2's `ip` on PATH. */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && hasIp();
}

/**
 * Why the namespace tests are skipped, or undefined when they must run.
 * Under CI they always run (and fail if namespaces cannot be made), so CI cannot silently skip them.
 */
export function netnsSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  if (process.getuid?.() !== 0)
    return 'network namespace tests need root (they run `ip netns add`); run as root or under CI=1';
  if (!hasIp())
    return 'network namespace tests need iproute2 (`ip`); install it (`apt-get install -y iproute2`) or run under CI=1';
  return undefined;
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { timeout: 15_000 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
  }
}

async function nsPids(ns: string): Promise<number[]> {
  try {
    return parsePids(await ip(['netns', 'pids', ns]));
  } catch {
    return [];
  }
}

function parsePids(out: string): number[] {
  return out
    .split('\n')
    .map((line) => Number.parseInt(line.trim(), 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// `ip netns del` only unmounts the name; the namespace (and its veth) lives on while a process is in it.
async function removeNamespace(ns: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let pids = await nsPids(ns); pids.length > 0; pids = await nsPids(ns)) {
    killAll(pids);
    if (Date.now() > deadline)
      throw new Error(`processes ${pids.join(', ')} in namespace ${ns} survived SIGKILL for 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    await ip(['netns', 'del', ns]);
  } catch (error) {
    if (await namespaceExists(ns)) throw error;
  }
  rmSync(path.join(ETC_NETNS, ns), { recursive: true, force: true });
}

async function namespaceExists(ns: string): Promise<boolean> {
  return listNamespaces(await ip(['netns', 'list'])).includes(ns);
}

function listNamespaces(out: string): string[] {
  // Lines look like `name (id: 3)` or `name`.
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

function removeNamespaceSync(ns: string): void {
  try {
    killAll(
      parsePids(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
    );
  } catch {
    // no such namespace
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already deleted
  }
  rmSync(path.join(ETC_NETNS, ns), { recursive: true, force: true });
}

function track(names: readonly string[]): void {
  for (const name of names) live.add(name);
  if (!exitHook) {
    // A test that crashes the worker skips its afterEach: delete what is left as the process exits.
    exitHook = () => {
      for (const name of live) removeNamespaceSync(name);
      live.clear();
    };
    process.on('exit', exitHook);
  }
}

function untrack(names: readonly string[]): void {
  for (const name of names) live.delete(name);
  if (live.size === 0 && exitHook) {
    process.off('exit', exitHook);
    exitHook = undefined;
  }
}

// The carrier comes up a moment after `link set up`; until then the veth is not RUNNING, so
// getifaddrs (os.networkInterfaces) leaves it out and a bind to its address may fail.
async function waitForCarrier(node: NetnsNode): Promise<void> {
  let link = '';
  const carrier = async () => {
    link = await ip(['-n', node.ns, '-o', 'link', 'show', 'dev', node.ifname]);
    return /[<,]LOWER_UP[,>]/.test(link);
  };
  await until(() => `a carrier on ${node.ifname} in ${node.ns}: ${link.trim()}`, carrier, {
    timeoutMs: 10_000,
    everyMs: 20,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes `ddprun-*` namespaces whose creator process is dead (left by a run that was SIGKILLed); returns their names. */
export async function sweepStaleNamespaces(): Promise<string[]> {
  if (!canUseNetns()) return [];
  const stale = listNamespaces(await ip(['netns', 'list'])).filter((name) => {
    const match = NAME.exec(name);
    return match !== null && Number(match[1]) !== process.pid && !isAlive(Number(match[1]));
  });
  for (const name of stale) await removeNamespace(name);
  return stale;
}

/**
 * Two network namespaces joined by a veth pair, each a "node" with a link-local address
 * (169.254.X.1/24 and 169.254.X.2/24) that exists only inside it. Unique names per call.
 */
export async function createTwoNodeNetwork(options: TwoNodeNetworkOptions = {}): Promise<TwoNodeNetwork> {
  const id = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const subnet = `169.254.${randomInt(1, 255)}`;
  const nodes = [
    { ns: `${id}-a`, addr: `${subnet}.1`, ifname: 'ddpveth0', hostname: options.hostnames ? `${id}-a` : undefined },
    { ns: `${id}-b`, addr: `${subnet}.2`, ifname: 'ddpveth1', hostname: options.hostnames ? `${id}-b` : undefined },
  ] as const satisfies readonly [NetnsNode, NetnsNode];
  const names = nodes.map((node) => node.ns);
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      const results = await Promise.allSettled(names.map((name) => removeNamespace(name)));
      untrack(names);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return destroyed;
  };

  track(names);
  try {
    for (const node of nodes) await ip(['netns', 'add', node.ns]);
    // Created directly inside the namespaces, so the names never meet in the root namespace.
    await ip([
      'link',
      'add',
      nodes[0].ifname,
      'netns',
      nodes[0].ns,
      'type',
      'veth',
      'peer',
      'name',
      nodes[1].ifname,
      'netns',
      nodes[1].ns,
    ]);
    for (const node of nodes) {
      await ip(['-n', node.ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', node.ns, 'addr', 'add', `${node.addr}/24`, 'dev', node.ifname]);
      await ip(['-n', node.ns, 'link', 'set', node.ifname, 'up']);
    }
    for (const node of nodes) await waitForCarrier(node);
    if (options.hostnames) {
      const hosts = [
        '127.0.0.1 localhost',
        '::1 localhost',
        ...nodes.map((node) => `${node.addr} ${node.hostname}`),
        '',
      ].join('\n');
      // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts.
      for (const node of nodes) {
        mkdirSync(path.join(ETC_NETNS, node.ns), { recursive: true });
        writeFileSync(path.join(ETC_NETNS, node.ns, 'hosts'), hosts);
      }
    }
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }

  return {
    nodes,
    exec: (nodeIndex, argv) => {
      const { ns, hostname } = nodes[nodeIndex];
      if (hostname === undefined) return ['ip', 'netns', 'exec', ns, ...argv];
      return [
        'ip',
        'netns',
        'exec',
        ns,
        'unshare',
        '--uts',
        '--',
        'sh',
        '-c',
        'hostname "$0" && exec "$@"',
        hostname,
        ...argv,
      ];
    },
    pids: (nodeIndex) => nsPids(nodes[nodeIndex].ns),
    destroy,
  };
}
