import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTwoNodeNetwork, netnsSkipReason, sweepStaleNamespaces } from '../helpers/netns.js';

const skip = netnsSkipReason();
const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

describe.skipIf(skip !== undefined)(`the two-node network helper${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('joins the nodes by the veth, and destroy() kills what runs inside and deletes both namespaces, twice safely', async () => {
    const net = await createTwoNodeNetwork();
    const [a, b] = net.nodes;
    expect(a.addr).toMatch(/^169\.254\.\d+\.1$/);
    expect(b.addr).toBe(a.addr.replace(/\.1$/, '.2'));
    expect(namespaces()).toContain(a.ns);

    // A TCP round trip from node 1 to node 0 over the veth, with node itself.
    const serve = `require('net').createServer((s) => s.end('pong')).listen(29500, ${JSON.stringify(a.addr)}, () => console.log('ready'))`;
    const serverArgv = net.exec(0, [process.execPath, '-e', serve]);
    const server = spawn(serverArgv[0]!, serverArgv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise<NodeJS.Signals | null>((resolve) =>
      server.on('close', (_code, signal) => resolve(signal)),
    );
    await new Promise((resolve) => server.stdout.once('data', resolve));
    const client = net.exec(1, [
      process.execPath,
      '-e',
      `require('net').connect(29500, ${JSON.stringify(a.addr)}).on('data', (d) => process.stdout.write(d))`,
    ]);
    expect(spawnSync(client[0]!, client.slice(1), { encoding: 'utf8', timeout: 10_000 }).stdout).toBe('pong');
    expect(await net.pids(0)).toEqual([server.pid]);

    await net.destroy();
    await net.destroy();
    expect(await closed).toBe('SIGKILL');
    expect(namespaces()).not.toContain(a.ns);
    expect(namespaces()).not.toContain(b.ns);
  });

  it('sweeps ddprun namespaces whose creator is dead, and keeps those of a live one', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = `ddprun-${dead}-abcdef-a`;
    execFileSync('ip', ['netns', 'add', stale]);
    const net = await createTwoNodeNetwork();
    try {
      // Another test file may sweep it first: what counts is that it is gone.
      await sweepStaleNamespaces();
      expect(namespaces()).not.toContain(stale);
      expect(namespaces()).toContain(net.nodes[0].ns);
    } finally {
      await net.destroy();
      spawnSync('ip', ['netns', 'del', stale]);
    }
  });
});
