import { isIPv6 } from 'node:net';

/** A host as it stands before `:port` in an address or URL: an IPv6 address in brackets. */
export function hostForUrl(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}
