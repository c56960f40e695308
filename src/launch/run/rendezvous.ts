import net from 'node:net';
import { RendezvousTimeoutError } from '../../errors.js';

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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) return false;
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (await tryConnect(host, port, Math.min(1000, left))) return true;
    // A ref'd timer: this wait is the launch's work, and must keep the process alive.
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
  const address = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  throw new RendezvousTimeoutError(
    `Could not reach the master at ${address} within ${Math.round(timeoutMs / 1000)} s: rank 0 on node 0 hosts the store there. Start node 0 (ddprun --node-rank 0 with the same --master-addr and --master-port), check that this node can reach that address, or raise --rdzv-timeout.`,
    address,
  );
}
