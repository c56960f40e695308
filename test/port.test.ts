import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PORT_RANGE, findFreeNetworkPort } from '../src/net/port.js';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host }, () => resolve(server));
  });
}

const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('findFreeNetworkPort', () => {
  it('gives 1,000 concurrent callers distinct ports in 10000–32767, each bindable on 127.0.0.1', async () => {
    const ports = await Promise.all(Array.from({ length: 1000 }, () => findFreeNetworkPort()));
    expect(new Set(ports).size).toBe(1000);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(PORT_RANGE.min);
      expect(port).toBeLessThanOrEqual(PORT_RANGE.max);
    }
    for (let i = 0; i < ports.length; i += 100) {
      const servers = await Promise.all(ports.slice(i, i + 100).map((port) => listen(port, '127.0.0.1')));
      await Promise.all(servers.map(close));
    }
  });

  it('never returns a port that is taken on 127.0.0.1 or on 0.0.0.0', async () => {
    const taken: net.Server[] = [];
    try {
      // Occupy a block of the range on both addresses and ask often enough to hit it by chance if unchecked.
      for (let port = 20_000; port < 20_200; port++) {
        taken.push(await listen(port, port % 2 ? '127.0.0.1' : '0.0.0.0').catch(() => listen(0, '127.0.0.1')));
      }
      const busy = new Set(taken.map((s) => (s.address() as net.AddressInfo).port));
      const ports = await Promise.all(Array.from({ length: 300 }, () => findFreeNetworkPort()));
      expect(ports.filter((p) => busy.has(p))).toEqual([]);
    } finally {
      await Promise.all(taken.map(close));
    }
  });
});
