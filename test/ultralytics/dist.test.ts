import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from 'ddprun';
import {
  ddpCleanup,
  type DdpTrainer,
  generateDdpCommand,
  generateDdpFile,
  pyFloat,
  trainerId,
} from 'ddprun/ultralytics';
import {
  FIXTURES,
  TORCH_SKIP_REASON,
  runPython,
  torchPython,
  typedOf,
  writeStandInPython,
  type Typed,
} from '../helpers/python.js';

const MODULE = 'ultralytics.models.yolo.detect.train';
const CLASS = 'DetectionTrainer';

interface TrainerRecord {
  cfg: Typed;
  overrides: Typed;
  overrides_repr: string;
  model: Typed;
  rank?: number;
  world_size?: number;
  all_reduce?: number;
}

let tmp: string;
let configDir: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ddprun-dist-'));
  configDir = path.join(tmp, 'config');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function defaultArgs(): Record<string, unknown> {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'ultralytics_default_args.json'), 'utf8')) as {
    floats: string[];
    args: Record<string, unknown>;
  };
  const args = { ...fixture.args };
  for (const key of fixture.floats) args[key] = pyFloat(args[key] as number);
  return args;
}

/** Runs a generated entry file directly (no launcher) with the stand-in package, returns what the trainer recorded. */
async function runEntryFile(python: string, file: string, name: string): Promise<TrainerRecord> {
  const out = path.join(tmp, `${name}.json`);
  await runPython(python, [file], { PYTHONPATH: FIXTURES, DDPRUN_TEST_RECORD: out });
  return JSON.parse(await readFile(out, 'utf8')) as TrainerRecord;
}

const injected = () => path.join(tmp, 'pwned');
function hostileArgs(): Record<string, unknown> {
  const shell = `touch ${injected()}`;
  let deep: unknown = 'bottom';
  for (let i = 0; i < 98; i++) deep = i % 2 ? { [`k${i}`]: deep } : [deep, i];
  return {
    quotes: ["'", '"', "'''", '"""', `'"`, `it's "x"`],
    backslashes: ['\\', 'a\\', '\\\\n', 'C:\\new\\table', '\\x00\\u0041\\N{BULLET}'],
    newlines: ['a\nb', 'a\r\nb', '\r', '\n\n', 'tab\there'],
    injection: [
      `"); import os; os.system("${shell}`,
      `'); import os; os.system('${shell}') #`,
      `'''\nimport os\nos.system('${shell}')\n'''`,
      `{__import__('os').system('${shell}')}`,
      '\\\n' + `__import__('os').system('${shell}')`,
    ],
    unicode: [
      'héllo',
      '日本語',
      '🚀💥',
      'e\u0301',
      '\u202eevil',
      '\u2028\u2029\u0085',
      '\ufeff',
      '\ud800 lone',
      '\udfff',
      'nul\0byte',
      '\x1b[31mred',
    ],
    'key\'with"quotes\n': 1,
    "__import__('os').system('id')": 2,
    '': 'empty key',
    '10': 'integer-like key',
    huge: [2n ** 200n, -(2n ** 100n), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60],
    floats: [NaN, Infinity, -Infinity, -0, 0.1, 1e-7, 5e-324, 1.7976931348623157e308, pyFloat(3), pyFloat(0)],
    bools: [true, false, null],
    empties: [[], {}, ''],
    deep,
    ...(JSON.parse('{"__proto__": "own __proto__ key"}') as object),
  };
}

describe('generateDdpFile', () => {
  it('runs with the full Ultralytics default args: the trainer gets exactly those args, the model and cfg', async (ctx) => {
    const python = await torchPython();
    if (!python) return ctx.skip(TORCH_SKIP_REASON);
    const args = { ...defaultArgs(), model: `yolo"); import os; os.system("touch ${injected()}") #.pt` };
    const trainer: DdpTrainer = { module: MODULE, className: CLASS, args };
    const file = await generateDdpFile(trainer, { configDir });
    const record = await runEntryFile(python, file, 'defaults');
    expect(record.overrides).toEqual(typedOf(args));
    expect(record.model).toEqual(typedOf(args.model));
    expect(record.cfg).toEqual(typedOf({ ...defaultArgs(), model: null, save_dir: '' }));
    // For ordinary values the literal reads like Python's own repr.
    expect(readFileSync(file, 'utf8')).toContain(`overrides = ${record.overrides_repr}\n`);
    expect(existsSync(injected())).toBe(false);
    await ddpCleanup(trainer, file);
    expect(existsSync(file)).toBe(false);
  });

  it('passes hostile values through unchanged and never runs them as code', async (ctx) => {
    const python = await torchPython();
    if (!python) return ctx.skip(TORCH_SKIP_REASON);
    const args = hostileArgs();
    const modelUrl = `https://hub.example/m'''"""\\\n"); import os; os.system("touch ${injected()}`;
    const trainer: DdpTrainer = {
      module: MODULE,
      className: CLASS,
      args: { ...args, model: 'local.pt' },
      hubSession: { modelUrl },
    };
    const file = await generateDdpFile(trainer, { configDir });
    const record = await runEntryFile(python, file, 'hostile');
    expect(record.overrides).toEqual(typedOf({ ...args, model: 'local.pt' }));
    expect(record.model).toEqual(['str', modelUrl]);
    expect(existsSync(injected())).toBe(false);
    await ddpCleanup(trainer, file);
  });

  it('writes _temp_<random><id>.py, owner-only, into <configDir>/DDP with the seed content and an owner record', async () => {
    const trainer: DdpTrainer = { module: MODULE, className: CLASS, args: { epochs: 3, model: 'yolo11n.pt' } };
    const file = await generateDdpFile(trainer, { configDir });
    const other = await generateDdpFile(trainer, { configDir });
    expect(path.dirname(file)).toBe(path.join(configDir, 'DDP'));
    expect(path.basename(file)).toMatch(new RegExp(`^_temp_[a-z0-9_]{8}${trainerId(trainer)}\\.py$`));
    expect(other).not.toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('# Ultralytics Multi-GPU training temp file (should be automatically deleted after use)');
    expect(JSON.parse(lines[1]!.replace('# ddprun-owner: ', ''))).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
    });
    expect(lines.slice(2).join('\n')).toBe(`overrides = {'epochs': 3, 'model': 'yolo11n.pt'}

if __name__ == "__main__":
    from ultralytics.models.yolo.detect.train import DetectionTrainer
    from ultralytics.utils import DEFAULT_CFG_DICT

    cfg = DEFAULT_CFG_DICT.copy()
    cfg.update(save_dir='')   # handle the extra key 'save_dir'
    trainer = DetectionTrainer(cfg=cfg, overrides=overrides)
    trainer.args.model = 'yolo11n.pt'
    results = trainer.train()
`);
    await Promise.all([ddpCleanup(trainer, file), ddpCleanup(trainer, other)]);
  });

  it('refuses a bad module, class name or args before creating anything', async () => {
    const fresh = path.join(tmp, 'untouched');
    const bad: [Partial<DdpTrainer>, string][] = [
      [
        { module: 'os; import sys' },
        'Expected `trainer.module` to be a dotted Python module name such as `ultralytics.models.yolo.detect.train`, got `"os; import sys"` (string)',
      ],
      [{ module: 'a..b' }, 'got `"a..b"` (string)'],
      [{ module: 'ultralytics.class.train' }, 'got `"ultralytics.class.train"` (string)'],
      [{ module: '' }, 'got `""` (string)'],
      [
        { className: 'X\nimport os' },
        'Expected `trainer.className` to be a Python class name such as `DetectionTrainer`, got `"X\\nimport os"` (string)',
      ],
      [{ className: 'None' }, 'got `"None"` (string)'],
      [{ className: 'ｉｍｐｏｒｔ' }, 'got `"ｉｍｐｏｒｔ"` (string)'],
      [{ className: '1st' }, 'got `"1st"` (string)'],
      [{ args: { f: () => 0 } }, 'Cannot write `trainer.args.f` as a Python literal: got `[Function f]` (function)'],
      [
        { args: [] as unknown as Record<string, unknown> },
        'Expected `trainer.args` to be a plain object (vars(trainer.args)), got `[]` (array)',
      ],
      [
        { hubSession: { modelUrl: 5 as unknown as string } },
        'Expected `trainer.hubSession.modelUrl` to be a string, got `5` (number)',
      ],
    ];
    for (const [patch, message] of bad) {
      const trainer: DdpTrainer = { module: MODULE, className: CLASS, args: {}, ...patch };
      await expect(generateDdpFile(trainer, { configDir: fresh })).rejects.toThrow(message);
      await expect(generateDdpFile(trainer, { configDir: fresh })).rejects.toBeInstanceOf(UsageError);
    }
    expect(existsSync(fresh)).toBe(false);
    expect(trainerId({ module: MODULE, className: 'Ünïcode_Trainer', args: {} })).toBeGreaterThan(0);
  });

  it('says what to do when the config dir cannot be written', async () => {
    const blocker = path.join(tmp, 'a-file');
    await writeFile(blocker, '');
    const trainer: DdpTrainer = { module: MODULE, className: CLASS, args: {} };
    await expect(generateDdpFile(trainer, { configDir: blocker })).rejects.toThrow(
      `Cannot write the DDP entry file into ${JSON.stringify(path.join(blocker, 'DDP'))}: ENOTDIR: not a directory, mkdir '${path.join(blocker, 'DDP')}'. Set YOLO_CONFIG_DIR (or pass \`configDir\`) to a directory you own and can write.`,
    );
  });
});

describe('ddpCleanup', () => {
  it('removes the file only for the trainer whose id is in its name, and twice is harmless', async () => {
    const mine: DdpTrainer = { module: MODULE, className: CLASS, args: {} };
    const other: DdpTrainer = { module: MODULE, className: CLASS, args: {} };
    expect(trainerId(mine)).toBe(trainerId(mine));
    expect(trainerId(mine)).not.toBe(trainerId(other));
    const file = await generateDdpFile(mine, { configDir });
    await ddpCleanup(other, file);
    expect(existsSync(file)).toBe(true);
    await ddpCleanup(mine, file);
    expect(existsSync(file)).toBe(false);
    await ddpCleanup(mine, file);
  });
});

describe('generateDdpCommand', () => {
  const trainer = (): DdpTrainer => ({ module: MODULE, className: CLASS, args: { epochs: 1 } });

  it('chooses torch.distributed.launch for torch < 1.9, and run with the redirect fix only for torch < 2.0 on Python >= 3.11', async () => {
    const cases: [string | null, [number, number], string, string[]][] = [
      ['1.8.1', [3, 8], 'torch.distributed.launch', []],
      ['1.13.0a0', [3, 11], 'torch.distributed.run', ['--redirects', '9:1', '--tee', '9:1']],
      ['1.13.1', [3, 10], 'torch.distributed.run', []],
      ['2.11.0+cu128', [3, 12], 'torch.distributed.run', []],
    ];
    for (const [torch, pythonVersion, distCmd, fix] of cases) {
      const python = await writeStandInPython(path.join(tmp, `torch-${torch}`, 'python'), { torch, pythonVersion });
      const t = trainer();
      const [cmd, file] = await generateDdpCommand(3, t, { python, configDir });
      expect(cmd).toEqual([
        python,
        '-m',
        distCmd,
        '--nproc_per_node',
        '3',
        '--master_port',
        expect.stringMatching(/^\d+$/),
        ...fix,
        file,
      ]);
      expect(existsSync(file)).toBe(true);
      await ddpCleanup(t, file);
    }
  });

  it('refuses a bad world size or a Python without torch before writing anything', async () => {
    const fresh = path.join(tmp, 'untouched-cmd');
    await expect(generateDdpCommand(0, trainer(), { configDir: fresh })).rejects.toThrow(
      'Expected `worldSize` to be a positive integer, got `0` (number)',
    );
    await expect(generateDdpCommand(1.5, trainer(), { configDir: fresh })).rejects.toThrow('got `1.5` (number)');
    const noTorch = await writeStandInPython(path.join(tmp, 'no-torch', 'python'), { torch: null });
    await expect(generateDdpCommand(2, trainer(), { python: noTorch, configDir: fresh })).rejects.toThrow(
      'cannot import torch',
    );
    expect(existsSync(fresh)).toBe(false);
  });

  it('runs as returned: 2 ranks of the stand-in trainer do a real gloo all-reduce, then ddpCleanup removes the file', async (ctx) => {
    const python = await torchPython();
    if (!python) return ctx.skip(TORCH_SKIP_REASON);
    const args = { epochs: 2, device: '0,1', lr0: pyFloat(1), name: `r'"\n${'🚀'}`, model: 'yolo11n.pt' };
    const t: DdpTrainer = { module: MODULE, className: CLASS, args };
    const [cmd, file] = await generateDdpCommand(2, t, { python, configDir });
    const out = path.join(tmp, 'ddp-record');
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(cmd[0]!, cmd.slice(1), {
        env: { ...process.env, PYTHONPATH: FIXTURES, DDPRUN_TEST_RECORD: out, OMP_NUM_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
    expect(code, output).toBe(0);
    // The ranks' own output reaches the console (the torch < 2.0 fix keeps it there).
    expect(output).toContain(`recorded ${out}.rank0`);
    expect(output).toContain(`recorded ${out}.rank1`);
    for (const rank of [0, 1]) {
      const record = JSON.parse(await readFile(`${out}.rank${rank}`, 'utf8')) as TrainerRecord;
      expect(record).toMatchObject({ rank, world_size: 2, all_reduce: 3 });
      expect(record.overrides).toEqual(typedOf(args));
      expect(record.model).toEqual(['str', 'yolo11n.pt']);
    }
    await ddpCleanup(t, file);
    expect(existsSync(file)).toBe(false);
    expect((await readdir(path.join(configDir, 'DDP'))).filter((n) => n.includes(`${trainerId(t)}.py`))).toEqual([]);
  });
});
