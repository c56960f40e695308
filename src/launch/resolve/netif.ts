import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import os from 'node:os';

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 63 characters each, 253 in all.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Checks the form of a master address before anything is started: an IPv4 or IPv6 address
 * (bracketed or not) or an RFC 1123 host name. Returns the error message, or undefined when valid.
 */
export function validateMasterAddr(addr: string): string | undefined {
  const bad = (why: string, fix: string) =>
    `Expected \`masterAddr\` (--master-addr) to be an IP address or a host name, got ${JSON.stringify(addr)}: ${why}. ${fix}`;
  if (addr.trim() === '') return bad('it is empty', 'Pass the address of node 0, e.g. `10.0.0.1` or `node0.cluster`.');
  if (/\s/.test(addr.trim())) return bad('it contains whitespace', 'Pass one address, without spaces.');
  if (addr !== addr.trim()) return bad('it has leading or trailing whitespace', `Pass \`${addr.trim()}\`.`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(addr);
  if (scheme) {
    const rest = addr.slice(scheme[0].length).replace(/[/?#].*$/, '');
    return bad(`it has a URL scheme (\`${scheme[1]}://\`)`, `Pass only the host: \`${stripPort(rest)}\`.`);
  }
  if (addr.includes('/')) return bad('it contains `/`', 'Pass a single address, not a subnet or a path.');
  const unbracketed = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : undefined;
  if (unbracketed !== undefined) {
    return isIP(unbracketed) === 6
      ? undefined
      : bad('the part in brackets is not an IPv6 address', 'Brackets are only for IPv6 addresses, e.g. `[fd00::1]`.');
  }
  if (isIP(addr)) return undefined;
  const bracketPort = /^\[([^\]]*)\]:(\d*)$/.exec(addr);
  if (bracketPort)
    return bad(
      `it ends with a port (\`:${bracketPort[2]}\`)`,
      `Pass the port as \`masterPort\` (--master-port ${bracketPort[2]}) and the address alone: \`${bracketPort[1]}\`.`,
    );
  const hostPort = /^([^:]+):(\d*)$/.exec(addr);
  if (hostPort)
    return bad(
      `it ends with a port (\`:${hostPort[2]}\`)`,
      `Pass the port as \`masterPort\` (--master-port ${hostPort[2]}) and the address alone: \`${hostPort[1]}\`.`,
    );
  if (addr.includes(':'))
    return bad('it contains `:` but is not an IPv6 address', 'Check the IPv6 address, e.g. `fd00::1` or `[fd00::1]`.');
  if (/^[\d.]+$/.test(addr))
    return bad('it is not a valid IPv4 address', 'An IPv4 address has four numbers from 0 to 255, e.g. `10.0.0.1`.');
  const name = addr.endsWith('.') ? addr.slice(0, -1) : addr;
  if (name.length > 253) return bad(`it is ${name.length} characters long`, 'A host name has at most 253 characters.');
  const label = name.split('.').find((part) => !LABEL.test(part));
  if (label !== undefined) {
    const why =
      label === ''
        ? 'it has an empty label (`..`, or a leading dot)'
        : `the label ${JSON.stringify(label)} is not a valid host name label`;
    return bad(
      why,
      'A host name is made of letters, digits and hyphens separated by dots (no `_`, no leading or trailing hyphen, 63 characters per label).',
    );
  }
  return undefined;
}

function stripPort(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1] ?? host;
  return /^[^:]+:\d*$/.test(host) ? host.slice(0, host.lastIndexOf(':')) : host;
}

function unbracket(addr: string): string {
  return addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
}

/** Resolves a host name to an IP address (an IP address is returned as is); undefined when it does not resolve. */
async function resolve(addr: string): Promise<string | undefined> {
  const host = unbracket(addr);
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch {
    return undefined;
  }
}

function normalize(ip: string): string {
  // `::ffff:10.0.0.1` is the IPv4 address; a zone (`fe80::1%eth0`) is not part of the address.
  const plain = ip.replace(/%.*$/, '').toLowerCase();
  return plain.startsWith('::ffff:') && isIPv4(plain.slice(7)) ? plain.slice(7) : plain;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || (isIPv4(ip) && ip.startsWith('127.'));
}

/** The interface that holds `ip` on this machine, if any. */
function interfaceHolding(ip: string): string | undefined {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (addrs?.some((info) => normalize(info.address) === ip)) return name;
  }
  return undefined;
}

/** True when `addr` (an IP address or a host name) is an address of this machine: loopback or on a local interface. */
export async function isLocalAddress(addr: string): Promise<boolean> {
  const ip = await resolve(addr);
  if (ip === undefined) return false;
  const plain = normalize(ip);
  return isLoopback(plain) || interfaceHolding(plain) !== undefined;
}

async function ipRouteGet(ip: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('ip', ['-o', 'route', 'get', ip], { timeout: 5_000 });
    return /\bdev\s+(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

function toBytes(ip: string): number[] | undefined {
  if (isIPv4(ip)) return ip.split('.').map(Number);
  if (isIP(ip) !== 6) return undefined;
  const [head = '', tail = ''] = ip.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  let h = groups(head);
  let t = groups(tail);
  const last = t.length ? t.at(-1) : h.at(-1);
  let v4: number[] = [];
  if (last && isIPv4(last)) {
    v4 = last.split('.').map(Number);
    if (t.length) t = t.slice(0, -1);
    else h = h.slice(0, -1);
  }
  const missing = 8 - v4.length / 2 - h.length - t.length;
  const words = [...h, ...Array<string>(ip.includes('::') ? missing : 0).fill('0'), ...t].map((w) =>
    Number.parseInt(w, 16),
  );
  return [...words.flatMap((w) => [w >> 8, w & 0xff]), ...v4];
}

function sameSubnet(a: number[], b: number[], mask: number[]): boolean {
  return (
    a.length === b.length && a.length === mask.length && a.every((byte, i) => (byte & mask[i]!) === (b[i]! & mask[i]!))
  );
}

/** Without `ip`: the interface whose subnet contains `ip` (a directly reachable peer). */
function interfaceBySubnet(ip: string): string | undefined {
  const target = toBytes(ip);
  if (!target) return undefined;
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const info of addrs ?? []) {
      const own = toBytes(normalize(info.address));
      const mask = toBytes(info.netmask);
      if (!info.internal && own && mask && sameSubnet(own, target, mask)) return name;
    }
  }
  return undefined;
}

/**
 * The network interface that carries traffic to `addr` (the master address): what
 * GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME should name, since gloo and NCCL otherwise pick
 * theirs from the host name, which often resolves to 127.0.0.1. Undefined when unknown.
 */
export async function interfaceForAddress(addr: string): Promise<string | undefined> {
  const ip = await resolve(addr);
  if (ip === undefined) return undefined;
  const plain = normalize(ip);
  // A local address is routed through `lo` by the kernel; the interface that holds it is what peers reach.
  const holder = interfaceHolding(plain);
  if (holder !== undefined) return holder;
  if (isLoopback(plain))
    return (
      Object.entries(os.networkInterfaces()).find(([, addrs]) => addrs?.some((info) => info.internal))?.[0] ?? 'lo'
    );
  return (await ipRouteGet(plain)) ?? interfaceBySubnet(plain);
}
