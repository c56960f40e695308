import net from 'node:net';
import { RendezvousTimeoutError } from '../../errors.js';
import { hostForUrl } from '../host.js';

function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const POLL_MS = 100;

/**
 * Calls `attempt` (given the time left) POLL_MS apart until it answers true (→ true), `stopped()` turns true
 * (→ false) or `timeoutMs` has passed (→ undefined).
 */
async function retryUntil(
  timeoutMs: number,
  stopped: () => boolean,
  attempt: (leftMs: number, deadline: number) => Promise<boolean>,
): Promise<boolean | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) return false;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    if (await attempt(left, deadline)) return true;
    // A ref'd timer: this wait is the launch's work, and must keep the process alive.
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Waits until node 0's rank 0 hosts its store at `host:port`, so that a node started before node 0 neither burns
 * torch's 30-minute connect timeout nor fails at once: it fails after `timeoutMs` naming the address instead.
 * Resolves early (false) when `stopped()` turns true.
 */
export async function waitForMaster(
  host: string,
  port: number,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<boolean> {
  const reached = await retryUntil(timeoutMs, stopped, (left) => tryConnect(host, port, Math.min(1000, left)));
  if (reached !== undefined) return reached;
  const address = `${hostForUrl(host)}:${port}`;
  throw new RendezvousTimeoutError(
    `Could not reach the master at ${address} within ${Math.round(timeoutMs / 1000)} s: rank 0 on node 0 hosts the store there. Start node 0 (ddprun --node-rank 0 with the same --master-addr and --master-port), check that this node can reach that address, or raise --rdzv-timeout.`,
    address,
  );
}

/** What a node says when it joins node 0's barrier, and what node 0 answers once every node joined. */
const JOIN = 'ddprun-join';
const GO = 'ddprun-go';

/**
 * Node 0's side of the static rendezvous, as torchrun's static rendezvous does it: no rank of any node starts until
 * every node has joined. Node 0 listens on the master port (rank 0's store binds it only after), counts the other
 * nodes' joins, answers all of them at once, and closes. Rejects with RendezvousTimeoutError after `timeoutMs`.
 */
export async function hostBarrier(
  host: string,
  port: number,
  nnodes: number,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<boolean> {
  const joined = new Map<number, net.Socket>();
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const match = new RegExp(`^${JOIN} (\\d+)\\n`).exec(text);
      if (!match) {
        if (text.includes('\n') || text.length > 64) socket.destroy(); // a client of rank 0's store, too early
        return;
      }
      const node = Number(match[1]);
      if (node < 1 || node >= nnodes) return void socket.destroy();
      joined.get(node)?.destroy();
      joined.set(node, socket);
      socket.once('close', () => {
        if (joined.get(node) === socket) joined.delete(node);
      });
    });
  });
  const listen = (on: string | undefined) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: on, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  // The master address as given when it is an address of this machine, else every interface (a host name, NAT).
  await listen(net.isIP(host) ? host : undefined).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRNOTAVAIL') throw error;
    return listen(undefined);
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (joined.size < nnodes - 1) {
      if (stopped()) return false;
      if (Date.now() >= deadline) {
        throw new RendezvousTimeoutError(
          `Only ${joined.size + 1} of ${nnodes} nodes joined within ${Math.round(timeoutMs / 1000)} s (no rank was started). Start the other nodes with the same --master-addr and --master-port, or raise --rdzv-timeout.`,
          `${host}:${port}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    for (const socket of joined.values()) socket.end(`${GO}\n`);
    return true;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of joined.values()) socket.destroy();
  }
}

/**
 * A node other than 0: joins node 0's barrier at `host:port` and waits for every node to have joined. Resolves true
 * on `go`, false when `stopped()`; rejects with RendezvousTimeoutError after `timeoutMs`.
 */
export async function joinBarrier(
  host: string,
  port: number,
  nodeRank: number,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<boolean> {
  let reached = false;
  const joined = await retryUntil(
    timeoutMs,
    stopped,
    (_left, deadline) =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ host, port });
        let text = '';
        const poll = setInterval(() => {
          if (stopped() || Date.now() >= deadline) {
            socket.destroy();
            resolve(false);
          }
        }, POLL_MS);
        const done = (go: boolean) => {
          clearInterval(poll);
          socket.destroy();
          resolve(go);
        };
        socket.setEncoding('utf8');
        socket.once('connect', () => {
          reached = true;
          socket.write(`${JOIN} ${nodeRank}\n`);
        });
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes(`${GO}\n`)) done(true);
        });
        socket.once('error', () => done(false));
        socket.once('close', () => done(text.includes(`${GO}\n`)));
      }),
  );
  if (joined !== undefined) return joined;
  const address = `${hostForUrl(host)}:${port}`;
  const seconds = Math.round(timeoutMs / 1000);
  throw new RendezvousTimeoutError(
    reached
      ? `Not every node joined at ${address} within ${seconds} s (node 0 starts no rank before they all have; no rank was started here). Start the other nodes with the same --master-addr and --master-port, or raise --rdzv-timeout.`
      : `Could not reach the master at ${address} within ${seconds} s: node 0 hosts the rendezvous there. Start node 0 (ddprun --node-rank 0 with the same --master-addr and --master-port), check that this node can reach that address, or raise --rdzv-timeout.`,
    address,
  );
}
