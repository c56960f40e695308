import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { renderSbatchScript, sbatchQuote, type SbatchOptions } from '../../src/slurm/sbatch.js';

const base: SbatchOptions = {
  nodes: 2,
  nodePath: '/usr/bin/node',
  ddprunPath: '/opt/ddprun/dist/cli/main.js',
  ddprunArgs: ['--nproc-per-node', '4', 'train.py', '--lr', '0.1'],
};

describe('renderSbatchScript', () => {
  it('writes the minimal script: one ddprun per node under srun', () => {
    expect(renderSbatchScript(base)).toBe(
      [
        '#!/bin/bash',
        "# Written by ddprun: one ddprun per node (srun --ntasks-per-node=1), each starting its node's ranks.",
        '#SBATCH --job-name=ddprun',
        '#SBATCH --nodes=2',
        '#SBATCH --ntasks-per-node=1',
        'set -euo pipefail',
        'srun --ntasks-per-node=1 --kill-on-bad-exit=1 /usr/bin/node /opt/ddprun/dist/cli/main.js --nproc-per-node 4 train.py --lr 0.1',
        '',
      ].join('\n'),
    );
  });

  it('--requeue and --signal-before: the directives, and what tells each node ddprun the warning and to requeue', () => {
    const script = renderSbatchScript({ ...base, requeue: true, signalBeforeS: 300 });
    // No `B:`: Slurm signals every task of every step (each node's ddprun), not the batch shell.
    expect(script).toContain('#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=USR1@300\n');
    expect(script).toContain('export DDPRUN_PREEMPT_SIGNAL=SIGUSR1\nexport DDPRUN_REQUEUE=1\n');
    // --requeue alone warns 120 s before the limit; --signal-before alone warns without requeueing.
    expect(renderSbatchScript({ ...base, requeue: true })).toContain('#SBATCH --signal=USR1@120\n');
    const warnOnly = renderSbatchScript({ ...base, signalBeforeS: 90 });
    expect(warnOnly).toContain('#SBATCH --signal=USR1@90\n');
    expect(warnOnly).not.toContain('--requeue');
    expect(warnOnly).not.toContain('--open-mode');
    expect(warnOnly).not.toContain('DDPRUN_REQUEUE');
    for (const bad of [0, 65536, 1.5, '60'])
      expect(() => renderSbatchScript({ ...base, signalBeforeS: bad as number })).toThrow(UsageError);
  });

  it('writes every option, with user data quoted for sbatch and for the shell', () => {
    const script = renderSbatchScript({
      ...base,
      gpusPerNode: 4,
      cpusPerNode: 16,
      time: '01:30:00',
      partition: 'gpu',
      jobName: 'my "big" run #2',
      output: 'logs/%x-%j.out',
      chdir: '/home/me/my project',
      sbatchArgs: ['--qos=high', '--constraint=a100|h100'],
      env: { WANDB_PROJECT: "it's mine", NCCL_DEBUG: 'INFO' },
      ddprunArgs: ['train.py', '--name', '$(rm -rf ~)', 'a b'],
    });
    expect(script).toBe(
      [
        '#!/bin/bash',
        "# Written by ddprun: one ddprun per node (srun --ntasks-per-node=1), each starting its node's ranks.",
        '#SBATCH "--job-name=my \\"big\\" run #2"',
        '#SBATCH --nodes=2',
        '#SBATCH --ntasks-per-node=1',
        '#SBATCH --cpus-per-task=16',
        '#SBATCH --gpus-per-node=4',
        '#SBATCH --time=01:30:00',
        '#SBATCH --partition=gpu',
        '#SBATCH "--chdir=/home/me/my project"',
        '#SBATCH --output=logs/%x-%j.out',
        '#SBATCH --qos=high',
        '#SBATCH "--constraint=a100|h100"',
        'set -euo pipefail',
        "export WANDB_PROJECT='it'\\''s mine'",
        'export NCCL_DEBUG=INFO',
        "srun --ntasks-per-node=1 --kill-on-bad-exit=1 --cpus-per-task=16 /usr/bin/node /opt/ddprun/dist/cli/main.js train.py --name '$(rm -rf ~)' 'a b'",
        '',
      ].join('\n'),
    );
  });

  it('appends directories to the inherited PATH, after the exported variables', () => {
    const script = renderSbatchScript({ ...base, env: { A: '1' }, pathAppend: ['/usr/bin', '/bin'] });
    expect(script).toContain('\nexport A=1\nexport PATH="${PATH:+$PATH:}/usr/bin:/bin"\nsrun ');
  });

  it.each([
    [{ nodes: 0 }, 'Expected `nodes` to be a positive integer, got `0` (number).'],
    [{ nodes: 1.5 }, 'Expected `nodes` to be a positive integer, got `1.5` (number).'],
    [{ gpusPerNode: -1 }, 'Expected `gpusPerNode` to be a positive integer, got `-1` (number).'],
    [{ time: '' }, 'Expected `time` to be a non-empty string, got `""` (string).'],
    [{ jobName: 'a\nb' }, 'Expected `jobName` to fit on one line, got `"a\\nb"` (string).'],
    [
      { sbatchArgs: ['qos=high'] },
      'Expected every `sbatchArgs` item to be one sbatch option such as "--qos=high", got `"qos=high"` (string).',
    ],
    [
      { sbatchArgs: ['--comment=a\nsrun evil'] },
      'Expected `sbatchArgs` to fit on one line, got `"--comment=a\\nsrun evil"` (string).',
    ],
    [{ env: { 'A-B': 'x' } }, 'Expected every `env` name to be a shell variable name, got `"A-B"` (string).'],
    [
      { nodePath: 'node' },
      'Expected `nodePath` to be an absolute path (the same on every node), got `"node"` (string).',
    ],
    [{ ddprunArgs: [] }, 'Expected `ddprunArgs` to name at least the script to run, got `[]` (array).'],
    [
      { pathAppend: ['/opt/my bin'] },
      'Expected `pathAppend` to be an array of plain absolute directories, got `["/opt/my bin"]` (array).',
    ],
    [
      { pathAppend: ['/a:/b'] },
      'Expected `pathAppend` to be an array of plain absolute directories, got `["/a:/b"]` (array).',
    ],
    [
      { pathAppend: ['usr/bin'] },
      'Expected `pathAppend` to be an array of plain absolute directories, got `["usr/bin"]` (array).',
    ],
  ])('refuses %j', (override, message) => {
    expect(() => renderSbatchScript({ ...base, ...override })).toThrow(
      new UsageError(message, Object.keys(override)[0]),
    );
  });
});

describe('sbatchQuote', () => {
  it.each([
    ['--nodes=2', '--nodes=2'],
    ['--job-name=a b', '"--job-name=a b"'],
    ['--comment=x"y\\z#', '"--comment=x\\"y\\\\z#"'],
  ])('quotes %j as %s', (arg, quoted) => {
    expect(sbatchQuote(arg)).toBe(quoted);
  });
});
