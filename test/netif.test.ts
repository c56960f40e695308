import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { interfaceForAddress, isLocalAddress, validateMasterAddr } from '../src/launch/resolve/netif.js';
import { createTwoNodeNetwork, netnsSkipReason, sweepStaleNamespaces, type TwoNodeNetwork } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('validateMasterAddr', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '169.254.3.1',
    'localhost',
    'node0',
    'node-0.cluster.example',
    'node0.',
    'fd00::1',
    '::1',
    '[fd00::1]',
    '[::ffff:10.0.0.1]',
    'a'.repeat(63),
  ])('accepts %s', (addr) => {
    expect(validateMasterAddr(addr)).toBeUndefined();
  });

  const prefix = (addr: string) =>
    `Expected \`masterAddr\` (--master-addr) to be an IP address or a host name, got ${JSON.stringify(addr)}: `;

  it.each([
    ['', 'it is empty. Pass the address of node 0, e.g. `10.0.0.1` or `node0.cluster`.'],
    ['node 0', 'it contains whitespace. Pass one address, without spaces.'],
    [' node0\n', 'it has leading or trailing whitespace. Pass `node0`.'],
    ['http://node0:29500/', 'it has a URL scheme (`http://`). Pass only the host: `node0`.'],
    ['tcp://[fd00::1]:29500', 'it has a URL scheme (`tcp://`). Pass only the host: `fd00::1`.'],
    [
      '10.0.0.1:29500',
      'it ends with a port (`:29500`). Pass the port as `masterPort` (--master-port 29500) and the address alone: `10.0.0.1`.',
    ],
    [
      'node0:29500',
      'it ends with a port (`:29500`). Pass the port as `masterPort` (--master-port 29500) and the address alone: `node0`.',
    ],
    [
      '[fd00::1]:29500',
      'it ends with a port (`:29500`). Pass the port as `masterPort` (--master-port 29500) and the address alone: `fd00::1`.',
    ],
    ['[node0]', 'the part in brackets is not an IPv6 address. Brackets are only for IPv6 addresses, e.g. `[fd00::1]`.'],
    ['fd00:::1', 'it contains `:` but is not an IPv6 address. Check the IPv6 address, e.g. `fd00::1` or `[fd00::1]`.'],
    ['10.0.0.256', 'it is not a valid IPv4 address. An IPv4 address has four numbers from 0 to 255, e.g. `10.0.0.1`.'],
    ['10.0.0.0/8', 'it contains `/`. Pass a single address, not a subnet or a path.'],
    [
      'node_0',
      'the label "node_0" is not a valid host name label. A host name is made of letters, digits and hyphens separated by dots (no `_`, no leading or trailing hyphen, 63 characters per label).',
    ],
    [
      '-node0',
      'the label "-node0" is not a valid host name label. A host name is made of letters, digits and hyphens separated by dots (no `_`, no leading or trailing hyphen, 63 characters per label).',
    ],
    [
      'node0..cluster',
      'it has an empty label (`..`, or a leading dot). A host name is made of letters, digits and hyphens separated by dots (no `_`, no leading or trailing hyphen, 63 characters per label).',
    ],
    ['a.'.repeat(127) + 'a', 'it is 255 characters long. A host name has at most 253 characters.'],
  ])('rejects %j', (addr, reason) => {
    expect(validateMasterAddr(addr)).toBe(prefix(addr) + reason);
  });
});

describe('isLocalAddress and interfaceForAddress on this machine', () => {
  const own = Object.entries(os.networkInterfaces()).flatMap(([name, addrs]) =>
    (addrs ?? [])
      .filter((info) => !info.internal && info.family === 'IPv4')
      .map((info) => ({ name, address: info.address })),
  );

  it('takes loopback addresses and localhost as local, on `lo`', async () => {
    for (const addr of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost']) {
      expect(await isLocalAddress(addr), addr).toBe(true);
      expect(await interfaceForAddress(addr), addr).toBe('lo');
    }
  });

  it.skipIf(own.length === 0)('takes the address of a local interface as local, on that interface', async () => {
    const { name, address } = own[0]!;
    expect(await isLocalAddress(address)).toBe(true);
    expect(await interfaceForAddress(address)).toBe(name);
  });

  it('does not take a link-local address no interface holds as local', async () => {
    expect(await isLocalAddress('169.254.254.254')).toBe(false);
  });
});

const skip = netnsSkipReason();

// Inside the namespaces the answers are known exactly: node 0 holds .1 on its veth, node 1 holds .2.
describe.skipIf(skip !== undefined)(`netif inside a network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TwoNodeNetwork | undefined;
  let outDir = '';
  const IP = skip === undefined ? execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim() : 'ip';

  beforeAll(async () => {
    await sweepStaleNamespaces();
    // The real module, compiled alone (the rest of src may be mid-edit), run by node inside the namespace.
    outDir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-netif-'));
    await execFileAsync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        path.join(ROOT, 'src/launch/resolve/netif.ts'),
        '--outDir',
        outDir,
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--skipLibCheck',
      ],
      { cwd: ROOT },
    );
  });

  afterEach(async () => {
    await net?.destroy();
    net = undefined;
  });

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  async function probe(
    network: TwoNodeNetwork,
    node: 0 | 1,
    addrs: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const script = `import(${JSON.stringify(path.join(outDir, 'netif.js'))}).then(async (m) => {
      const out = {};
      for (const a of ${JSON.stringify(addrs)}) out[a] = { ifname: await m.interfaceForAddress(a) ?? null, local: await m.isLocalAddress(a) };
      console.log(JSON.stringify(out));
    })`;
    const argv = network.exec(node, [process.execPath, '--input-type=module', '-e', script]);
    // By absolute path: a PATH without `ip` in env must reach the probe, not break `ip netns exec`.
    const { stdout } = await execFileAsync(IP, argv.slice(1), { env, timeout: 30_000 });
    return JSON.parse(stdout) as Record<string, { ifname: string | null; local: boolean }>;
  }

  it("names the veth for the master's address on both nodes, and only node 0 owns it", async () => {
    net = await createTwoNodeNetwork();
    const [a, b] = net.nodes;
    expect(await probe(net, 0, [a.addr, b.addr, '127.0.0.1'])).toEqual({
      [a.addr]: { ifname: a.ifname, local: true },
      [b.addr]: { ifname: a.ifname, local: false },
      '127.0.0.1': { ifname: 'lo', local: true },
    });
    expect(await probe(net, 1, [a.addr, b.addr])).toEqual({
      [a.addr]: { ifname: b.ifname, local: false },
      [b.addr]: { ifname: b.ifname, local: true },
    });
  });

  it('finds the interface from the subnets when `ip` is not on PATH', async () => {
    net = await createTwoNodeNetwork();
    const [a, b] = net.nodes;
    expect(await probe(net, 1, [a.addr, '169.254.0.9'], { ...process.env, PATH: '/nonexistent' })).toEqual({
      [a.addr]: { ifname: b.ifname, local: false },
      '169.254.0.9': { ifname: null, local: false },
    });
  });
});
