import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { RendezvousTimeoutError } from '../errors.js';

/** How often a name that does not resolve yet is looked up again. */
const RETRY_MS = 500;

/**
 * Waits until `host` resolves (cluster DNS publishes a pod's name only once the pod has an IP), for `timeoutMs` at
 * most; `onWait` is called once, when the first lookup fails. An IP address returns at once.
 */
export async function waitForName(host: string, timeoutMs: number, onWait: (reason: string) => void): Promise<void> {
  if (isIP(host)) return;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      await lookup(host);
      return;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      if (Date.now() + RETRY_MS > deadline)
        throw new RendezvousTimeoutError(
          `The master's name ${host} did not resolve within --rdzv-timeout (${Math.round(timeoutMs / 1000)} s): ${reason}. Is pod 0 running, and does the headless Service select it?`,
          host,
        );
      if (!told) onWait(reason);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
