import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoveryKey, readDiscovery, writeDiscovery } from '../../src/python/discovery-cache.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the interpreter discovery cache', () => {
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
