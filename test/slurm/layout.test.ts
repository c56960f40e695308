import { describe, expect, it } from 'vitest';
import { detectSlurmMissingStep, detectSlurmMultiTask, parseTasksPerNode } from '../../src/slurm/layout.js';

const expected =
  'ddprun starts every rank of a node itself, so it expects one task per node: ' +
  '`srun --ntasks-per-node=1 ddprun …` (or `ddprun slurm`, which writes that line for you)';

describe('detectSlurmMultiTask', () => {
  it('accepts one task per node', () => {
    expect(
      detectSlurmMultiTask({
        SLURM_JOB_ID: '1',
        SLURM_STEP_ID: '0',
        SLURM_NODEID: '1',
        SLURM_LOCALID: '0',
        SLURM_STEP_TASKS_PER_NODE: '1(x2)',
      }),
    ).toBeUndefined();
  });

  it('ignores everything outside a step', () => {
    expect(detectSlurmMultiTask({ SLURM_JOB_ID: '1', SLURM_NTASKS_PER_NODE: '4', SLURM_LOCALID: '0' })).toBeUndefined();
  });

  it('stops every task of a step with several tasks on this node, local task 0 too', () => {
    const env = {
      SLURM_JOB_ID: '1',
      SLURM_STEP_ID: '0',
      SLURM_NODEID: '1',
      SLURM_LOCALID: '0',
      SLURM_STEP_TASKS_PER_NODE: '1,4',
      SLURM_NTASKS_PER_NODE: '1',
    };
    expect(detectSlurmMultiTask(env)).toBe(
      'ddprun was started as one of 4 Slurm tasks on this node (this is local task 0), from SLURM_STEP_TASKS_PER_NODE=1,4; ' +
        `${expected}. Run it with --ntasks-per-node=1 and set the ranks per node with --nproc-per-node.`,
    );
  });

  it('falls back to SLURM_LOCALID and SLURM_NTASKS_PER_NODE', () => {
    expect(detectSlurmMultiTask({ SLURM_STEPID: '0', SLURM_LOCALID: '2' })).toMatch(
      /^ddprun was started as one of 3 Slurm tasks on this node \(this is local task 2\), from SLURM_LOCALID=2;/,
    );
    expect(detectSlurmMultiTask({ SLURM_STEP_ID: '0', SLURM_LOCALID: '0', SLURM_NTASKS_PER_NODE: '2' })).toMatch(
      /one of 2 Slurm tasks .* from SLURM_NTASKS_PER_NODE=2;/,
    );
  });
});

describe('detectSlurmMissingStep', () => {
  it('stops ddprun run without srun in a multi-node job', () => {
    expect(detectSlurmMissingStep({ SLURM_JOB_ID: '1', SLURM_NNODES: '2', SLURM_NODEID: '0' })).toBe(
      `ddprun was started outside \`srun\` in a Slurm job of 2 nodes, so it would run on one node only and wait for the others; ${expected}.`,
    );
  });

  it('accepts a single-node job, a step, and no job at all', () => {
    expect(detectSlurmMissingStep({ SLURM_JOB_ID: '1', SLURM_NNODES: '1' })).toBeUndefined();
    expect(detectSlurmMissingStep({ SLURM_JOB_ID: '1', SLURM_NNODES: '2', SLURM_STEP_ID: '0' })).toBeUndefined();
    expect(detectSlurmMissingStep({})).toBeUndefined();
  });
});

describe('parseTasksPerNode', () => {
  it.each([
    ['1', [1]],
    ['2(x3),1', [2, 2, 2, 1]],
    ['4,1(x2)', [4, 1, 1]],
    ['x', undefined],
  ])('reads %j', (text, counts) => {
    expect(parseTasksPerNode(text)).toEqual(counts);
  });
});
