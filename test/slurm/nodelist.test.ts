import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandSlurmNodelist, SlurmNodelistError } from 'ddprun/slurm';
import { slurmToolsInstalled } from '../helpers/slurm-cluster.js';

describe('expandSlurmNodelist', () => {
  it.each([
    ['node[01-03,07]', ['node01', 'node02', 'node03', 'node07']],
    ['a[1-2],b3', ['a1', 'a2', 'b3']],
    ['r[1-2]n[01-02]', ['r1n01', 'r1n02', 'r2n01', 'r2n02']],
    ['a[1-2]b[1-2]c[1-2]', ['a1b1c1', 'a1b1c2', 'a2b1c1', 'a2b1c2', 'a1b2c1', 'a1b2c2', 'a2b2c1', 'a2b2c2']],
    ['n[1-3]m[1-2]k[7]', ['n1m1k7', 'n2m1k7', 'n3m1k7', 'n1m2k7', 'n2m2k7', 'n3m2k7']],
    ['gpu-node', ['gpu-node']],
    ['n[8-12]', ['n8', 'n9', 'n10', 'n11', 'n12']],
    ['n[09-11]', ['n09', 'n10', 'n11']],
    ['n[001-3]', ['n001', 'n002', 'n003']],
    ['n[1-010]', ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9', 'n10']],
    ['n[2,1,1]', ['n2', 'n1', 'n1']],
    [' a , b\tc\n', ['a', 'b', 'c']],
    ['a,,b,', ['a', 'b']],
    ['[1-2]', ['1', '2']],
    ['n1-3', ['n1-3']],
    ['', []],
  ])('expands %j', (list, hosts) => {
    expect(expandSlurmNodelist(list)).toEqual(hosts);
  });

  it('keeps numbers past 2^53 exact', () => {
    expect(expandSlurmNodelist('n[99999999999999999-100000000000000000]')).toEqual([
      'n99999999999999999',
      'n100000000000000000',
    ]);
  });

  it.each([
    ['n[3-1]', 'Invalid Slurm node list "n[3-1]": the range `3-1` is descending.'],
    ['n[1-2', 'Invalid Slurm node list "n[1-2": a `[` is never closed.'],
    ['n]', 'Invalid Slurm node list "n]": a `]` has no matching `[`.'],
    ['n[[1-2]]', 'Invalid Slurm node list "n[[1-2]]": a bracket group is opened inside another one.'],
    ['n[]', 'Invalid Slurm node list "n[]": `[]` contains ``, which is not a number or a `lo-hi` range.'],
    ['n[a-b]', 'Invalid Slurm node list "n[a-b]": `[a-b]` contains `a-b`, which is not a number or a `lo-hi` range.'],
    ['n[1-2,]', 'Invalid Slurm node list "n[1-2,]": `[1-2,]` contains ``, which is not a number or a `lo-hi` range.'],
    ['n[1-]', 'Invalid Slurm node list "n[1-]": `[1-]` contains `1-`, which is not a number or a `lo-hi` range.'],
    ['n[ 1-2]', 'Invalid Slurm node list "n[ 1-2]": a bracket group contains whitespace.'],
    [
      'n[1-2]-ib',
      'Invalid Slurm node list "n[1-2]-ib": `n[1-2]-ib` has text (`-ib`) after its last bracket group, which Slurm does not accept.',
    ],
    [
      'n[1-65537]',
      'Invalid Slurm node list "n[1-65537]": the range `1-65537` has more than 65536 hosts, Slurm\'s limit.',
    ],
  ])('rejects %j', (list, message) => {
    expect(() => expandSlurmNodelist(list)).toThrow(new SlurmNodelistError(message, list));
  });
});

// The reference is Slurm itself. scontrol needs a slurm.conf to start, but not a running cluster.
const haveSlurm = slurmToolsInstalled();
describe.skipIf(!haveSlurm && !process.env.CI)('expandSlurmNodelist against `scontrol show hostnames`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddprun-nodelist-'));
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, 'ClusterName=nodelist\nSlurmctldHost=localhost\nNodeName=n1 CPUs=1\nPartitionName=p Nodes=n1\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const scontrolHostnames = (list: string): string[] =>
    execFileSync('scontrol', ['show', 'hostnames', list], {
      env: { ...process.env, SLURM_CONF: conf },
      encoding: 'utf8',
      timeout: 10_000,
    })
      .split('\n')
      .filter((line) => line !== '');

  it.each([
    'node[01-03,07]',
    'a[1-2],b3',
    'r[1-2]n[01-02]',
    'a[1-3]b[1-2]',
    'a[1-2]b[1-2]c[1-2]d[1-2]',
    'a[5]b[1-2]c[1-2]',
    'n[1-3]m[1-2]k[7]',
    'x',
    'n[8-12],m[09-11]',
    'n[001-5]',
    'n[1-010]',
    'n[5-05]',
    'n[01-1]',
    'n[1,3-4,2,2]',
    ' a , b\tc',
    'a,,b,',
    '[1-2]',
    'n1-3',
    'n1[1-2],n2[1-2]',
    'n[99999999999-100000000000]',
    'n[1-65536]',
  ])('gives the same hosts as scontrol for %j', (list) => {
    expect(expandSlurmNodelist(list)).toEqual(scontrolHostnames(list));
  });
});
