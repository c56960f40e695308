import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, listFiles, runCli, useSandboxes, type Sandbox } from './helpers.js';

const box = useSandboxes();

const TRAINER = 'ultralytics.models.yolo.detect.train.DetectionTrainer';

/** A stand-in `nvidia-smi` printing two GPUs: 0 busy (but with free memory), 1 idle. */
function fakeNvidiaSmi(s: Sandbox): NodeJS.ProcessEnv {
  const bin = path.join(s.dir, 'bin');
  mkdirSync(bin);
  const file = path.join(bin, 'nvidia-smi');
  writeFileSync(
    file,
    '#!/bin/sh\nprintf "0, NVIDIA H100 80GB HBM3, 30000, 81559, 97\\n1, NVIDIA H100 80GB HBM3, 1200, 81559, 2\\n"\n',
  );
  chmodSync(file, 0o755);
  return { ...s.env, PATH: `${bin}${path.delimiter}${s.env.PATH ?? ''}` };
}

describe('ddprun train', () => {
  it('runs the trainer on 2 ranks with the key=value arguments typed as the yolo CLI types them', async () => {
    const s = box();
    const record = path.join(s.out, 'record');
    const env = { ...s.env, PYTHONPATH: FIXTURES, DDPRUN_TEST_RECORD: record };
    const run = await runCli(
      [
        'train',
        TRAINER,
        'model=yolo11n.pt',
        'epochs=3',
        'lr0=1.0',
        'mixup=1e-3',
        'amp=False',
        'cache=TRUE',
        'name=None',
        'device=[0,1]',
        'imgsz=640,480',
        "data='my data.yaml'",
        'project=runs/x',
      ],
      { env, cwd: s.out },
    );
    expect(run.code).toBe(0);
    const rank0 = JSON.parse(readFileSync(`${record}.rank0`, 'utf8')) as {
      overrides_repr: string;
      world_size: number;
      all_reduce: number;
    };
    expect(rank0.overrides_repr).toBe(
      "{'model': 'yolo11n.pt', 'epochs': 3, 'lr0': 1.0, 'mixup': 0.001, 'amp': False, 'cache': True, 'name': None, 'device': [0, 1], 'imgsz': [640, 480], 'data': 'my data.yaml', 'project': 'runs/x'}",
    );
    expect(rank0).toMatchObject({ world_size: 2, all_reduce: 3 });
    // The entry file is gone afterwards.
    expect(listFiles(path.join(s.configDir, 'Ultralytics'))).toEqual([]);
  });

  it('--dry-run describes the entry file without writing it, and picks idle GPUs for device=-1', async () => {
    const s = box();
    const env = fakeNvidiaSmi(s);
    const run = await runCli(['train', '--dry-run', TRAINER, 'device=-1,-1', 'epochs=1'], { env, cwd: s.out });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2 rank(s) on this node, world size 2');
    expect(run.stdout).toContain('    CUDA_VISIBLE_DEVICES=1,0');
    expect(run.stdout).toContain(`files it would write:\n  ${path.join(s.configDir, 'Ultralytics', 'DDP')}/_temp_`);
    expect(listFiles(s.dir).filter((f) => !f.startsWith('bin/'))).toEqual([]);
  });
});

describe('ddprun doctor', () => {
  it('reports Python, torch, gloo, the DDP dir, a free port and the orphan guard on this machine', async () => {
    const s = box();
    const run = await runCli(['doctor'], { env: s.env });
    expect(run.stdout).toMatch(/^python +ok +\/\S+ \(Python 3\.\d+, from \w+\)$/m);
    expect(run.stdout).toMatch(/^torch +ok +\d+\.\d+/m);
    expect(run.stdout).toMatch(/^backends +ok +gloo yes/m);
    expect(run.stdout).toContain(`${path.join(s.configDir, 'Ultralytics', 'DDP')} (writable)`);
    expect(run.stdout).toMatch(/^free port +ok +bound and released 127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(/^orphan guard +(ok|warn) /m);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Ready to launch.');
    expect(listFiles(s.dir)).toEqual([]);
  });

  it('shows the GPU table from nvidia-smi and which GPU device=-1 would use', async () => {
    const s = box();
    const run = await runCli(['doctor'], { env: fakeNvidiaSmi(s) });
    expect(run.stdout).toMatch(/^GPUs +ok +2 from nvidia-smi$/m);
    expect(run.stdout).toContain(
      [
        'GPUs',
        '  index  name                   memory used/total  utilisation',
        '  0      NVIDIA H100 80GB HBM3  30000/81559 MiB    97%',
        '  1      NVIDIA H100 80GB HBM3  1200/81559 MiB     2%',
        '  device=-1 would use GPU 1',
      ].join('\n'),
    );
  });

  it('exits 1 when the named interpreter has no torch', async () => {
    const s = box();
    const run = await runCli(['doctor'], { env: { ...s.env, DDPRUN_PYTHON: '/bin/sh' } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^python +FAIL /m);
    expect(run.stdout).toContain('Something a launch needs is missing');
  });
});
