import { describe, expect, it } from 'vitest';
import { SlurmEnvError, slurmLaunchDefaults, slurmMasterPort } from 'ddprun/slurm';

// What srun --ntasks-per-node=1 gives the task on the second node of a two-node job.
const step = {
  SLURM_JOB_ID: '4242',
  SLURM_STEP_ID: '0',
  SLURM_NNODES: '2',
  SLURM_JOB_NUM_NODES: '2',
  SLURM_NODEID: '1',
  SLURM_JOB_NODELIST: 'gpu[07-08]',
  SLURM_STEP_NODELIST: 'gpu[07-08]',
  SLURM_NTASKS_PER_NODE: '1',
  SLURM_STEP_TASKS_PER_NODE: '1(x2)',
};

describe('slurmLaunchDefaults', () => {
  it('is undefined outside Slurm', () => {
    expect(slurmLaunchDefaults({ PATH: '/usr/bin' })).toBeUndefined();
    expect(slurmLaunchDefaults({ SLURM_JOB_ID: '' })).toBeUndefined();
  });

  it('derives every option with its source inside a step', () => {
    expect(slurmLaunchDefaults({ ...step, SLURM_GPUS_ON_NODE: '4', CUDA_VISIBLE_DEVICES: '0,1,2,3' })).toEqual({
      jobId: '4242',
      nnodes: { value: 2, source: 'SLURM_NNODES' },
      nodeRank: { value: 1, source: 'SLURM_NODEID' },
      masterAddr: { value: 'gpu07', source: 'SLURM_STEP_NODELIST', detail: 'first host of gpu[07-08]' },
      masterPort: { value: 24242, source: 'SLURM_JOB_ID', detail: '20000 + 4242 % 10000' },
      nprocPerNode: { value: 4, source: 'SLURM_GPUS_ON_NODE' },
    });
  });

  it("takes the step's node list over the job's: node ranks count the step's nodes", () => {
    const defaults = slurmLaunchDefaults({
      ...step,
      SLURM_JOB_NODELIST: 'gpu[01-08]',
      SLURM_STEP_NODELIST: 'gpu[05-06]',
    });
    expect(defaults?.masterAddr).toEqual({
      value: 'gpu05',
      source: 'SLURM_STEP_NODELIST',
      detail: 'first host of gpu[05-06]',
    });
  });

  it('falls back to SLURM_JOB_NUM_NODES and SLURM_JOB_NODELIST', () => {
    const defaults = slurmLaunchDefaults({
      SLURM_JOB_ID: '7',
      SLURM_JOB_NUM_NODES: '3',
      SLURM_JOB_NODELIST: 'r[1-2]n[01-02]',
    });
    expect(defaults).toEqual({
      jobId: '7',
      nnodes: { value: 3, source: 'SLURM_JOB_NUM_NODES' },
      masterAddr: { value: 'r1n01', source: 'SLURM_JOB_NODELIST', detail: 'first host of r[1-2]n[01-02]' },
      masterPort: { value: 20007, source: 'SLURM_JOB_ID', detail: '20000 + 7 % 10000' },
    });
  });

  it('counts CUDA_VISIBLE_DEVICES when Slurm gave no GPU count', () => {
    expect(slurmLaunchDefaults({ ...step, CUDA_VISIBLE_DEVICES: '2,3' })?.nprocPerNode).toEqual({
      value: 2,
      source: 'CUDA_VISIBLE_DEVICES',
      detail: '2 devices in 2,3',
    });
    expect(slurmLaunchDefaults({ ...step, CUDA_VISIBLE_DEVICES: 'NoDevFiles' })?.nprocPerNode).toBeUndefined();
    expect(
      slurmLaunchDefaults({ ...step, SLURM_GPUS_ON_NODE: '0', CUDA_VISIBLE_DEVICES: '' })?.nprocPerNode,
    ).toBeUndefined();
  });

  it('uses SLURM_NTASKS_PER_NODE only above 1, since one task per node is the layout itself', () => {
    expect(slurmLaunchDefaults(step)?.nprocPerNode).toBeUndefined();
    const batch = {
      SLURM_JOB_ID: '9',
      SLURM_NNODES: '1',
      SLURM_NODEID: '0',
      SLURM_JOB_NODELIST: 'cpu1',
      SLURM_NTASKS_PER_NODE: '8',
    };
    expect(slurmLaunchDefaults(batch)?.nprocPerNode).toEqual({ value: 8, source: 'SLURM_NTASKS_PER_NODE' });
  });

  it('computes the same port in the non-ephemeral range 20000-29999 from any job id', () => {
    expect(slurmMasterPort('1').value).toBe(20001);
    expect(slurmMasterPort('19999').value).toBe(29999);
    expect(slurmMasterPort('123456789012345678901').value).toBe(28901);
    const hashed = slurmMasterPort('abc');
    expect(hashed.value).toBe(slurmMasterPort('abc').value);
    expect(hashed.value).toBeGreaterThanOrEqual(20000);
    expect(hashed.value).toBeLessThan(30000);
  });

  it('names the variable and the value it cannot use', () => {
    expect(() => slurmLaunchDefaults({ ...step, SLURM_NODEID: 'one' })).toThrow(
      new SlurmEnvError('Expected SLURM_NODEID to be an integer of at least 0, got "one".', 'SLURM_NODEID', 'one'),
    );
    expect(() => slurmLaunchDefaults({ ...step, SLURM_NNODES: '0' })).toThrow(
      'Expected SLURM_NNODES to be an integer of at least 1, got "0".',
    );
    expect(() => slurmLaunchDefaults({ ...step, SLURM_STEP_NODELIST: 'n[2-1]' })).toThrow(
      'SLURM_STEP_NODELIST=n[2-1] is not a node list: Invalid Slurm node list "n[2-1]": the range `2-1` is descending.',
    );
  });
});
