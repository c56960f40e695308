import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** ddprun's version, from its package.json. */
export function ddprunVersion(): string {
  if (cached) return cached;
  try {
    cached = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    cached = 'unknown';
  }
  return cached;
}
