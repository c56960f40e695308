import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { discoveryCacheFile, discoveryKey, readDiscovery, writeDiscovery } from '../../src/python/discovery-cache.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
// The cache goes to a folder of this file's, never the user's ~/.cache.
const savedCacheHome = process.env.XDG_CACHE_HOME;
const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'ddprun-cache-home-'));
beforeAll(() => {
  process.env.XDG_CACHE_HOME = cacheHome;
});
afterAll(() => {
  if (savedCacheHome === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCacheHome;
  rmSync(cacheHome, { recursive: true, force: true });
});

describe('the interpreter discovery cache', () => {
  it('treats a cache file that is not an object of entries as empty', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-cache-'));
    dirs.push(dir);
    process.env.XDG_CACHE_HOME = dir;
    try {
      mkdirSync(path.join(dir, 'ddprun'));
      for (const text of ['null', '[1]', '{"k": null}', '{truncated']) {
        writeFileSync(discoveryCacheFile(), text);
        expect(readDiscovery('k')).toBeUndefined();
      }
    } finally {
      process.env.XDG_CACHE_HOME = cacheHome;
    }
  });

  it('returns a choice only while every file it depended on is unchanged', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-cache-'));
    dirs.push(dir);
    const sitePackages = path.join(dir, 'site-packages');
    writeFileSync(sitePackages, '');
    const key = discoveryKey({ PATH: dir }, dir);
    writeDiscovery(key, { python: '/usr/bin/python3' }, [sitePackages, path.join(dir, 'missing')]);
    expect(readDiscovery(key)).toEqual({ python: '/usr/bin/python3' });
    expect(readDiscovery(discoveryKey({ PATH: `${dir}:/bin` }, dir))).toBeUndefined();
    // pip installing torch touches a sys.path folder: the choice must be made again.
    utimesSync(sitePackages, new Date(), new Date(Date.now() + 5000));
    expect(readDiscovery(key)).toBeUndefined();
    // A file that did not exist and now does (a new .python-version) invalidates too.
    writeDiscovery(key, { python: '/usr/bin/python3' }, [path.join(dir, '.python-version')]);
    writeFileSync(path.join(dir, '.python-version'), '3.12\n');
    expect(readDiscovery(key)).toBeUndefined();
  });
});
