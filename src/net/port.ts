import { randomInt } from 'node:crypto';
import net from 'node:net';
import { NoFreePortError } from '../errors.js';

/**
 * Random ports come from here: below Linux's ephemeral range (32768–60999), which outgoing connections reuse at once.
 */
export const PORT_RANGE = { min: 10_000, max: 32_767 } as const;
/** A port handed out is not handed out again by this process for this long (get-port does the same). */
export const PORT_HOLD_MS = 5_000;
const RANDOM_TRIES = 50;
const FALLBACK_TRIES = 20;
// Bind checks in flight at once: 1,000 concurrent callers must not run the process out of descriptors.
const MAX_CHECKS = 32;

/** Ports handed out recently or being checked now. */
const held = new Set<number>();
let checksRunning = 0;
const waiting: (() => void)[] = [];

async function withCheckSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (checksRunning >= MAX_CHECKS) await new Promise<void>((resolve) => waiting.push(resolve));
  else checksRunning++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else checksRunning--;
  }
}

/** Binds `host:port` (0: any) and resolves the bound port, or null when the bind fails. */
function tryBind(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

// The port must be free on loopback (where rank 0's store binds for a single node) and on the wildcard
// address (a server on 0.0.0.0 or [::] would make rank 0's bind fail too).
async function bindableEverywhere(port: number): Promise<number | null> {
  const bound = await tryBind(port, '127.0.0.1');
  if (bound === null) return null;
  return (await tryBind(bound, '0.0.0.0')) === null ? null : bound;
}

function hold(port: number): void {
  held.add(port);
  setTimeout(() => held.delete(port), PORT_HOLD_MS).unref();
}

/**
 * A TCP port on 127.0.0.1 that could be bound when checked, for `MASTER_PORT`. Prefers a random port in
 * 10000–32767 over an OS-assigned one (a released ephemeral port is soon reused by outgoing connections:
 * the cause of EADDRINUSE failures in the field), and never hands out the same port twice within 5 s.
 */
export async function findFreeNetworkPort(): Promise<number> {
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const candidate = randomInt(PORT_RANGE.min, PORT_RANGE.max + 1);
    if (held.has(candidate)) continue;
    held.add(candidate); // reserved while checked, so a concurrent caller cannot pick it
    const ok = (await withCheckSlot(() => bindableEverywhere(candidate))) !== null;
    held.delete(candidate);
    if (ok) {
      hold(candidate);
      return candidate;
    }
  }
  // Fallback, as the seed does: let the OS assign one.
  for (let i = 0; i < FALLBACK_TRIES; i++) {
    const port = await withCheckSlot(async () => {
      const assigned = await tryBind(0, '127.0.0.1');
      return assigned === null || held.has(assigned) ? null : bindableEverywhere(assigned);
    });
    if (port !== null && !held.has(port)) {
      hold(port);
      return port;
    }
  }
  throw new NoFreePortError(
    'Could not find a free TCP port on 127.0.0.1: every port tried was in use or could not be bound.',
  );
}

/**
 * Whether `port` can be bound now on loopback and on the wildcard address (after a failure: is someone else holding
 * it?).
 */
export async function isPortFree(port: number): Promise<boolean> {
  return (await bindableEverywhere(port)) !== null;
}
