import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Job } from 'kubernetes-models/batch/v1/Job';
import { CLI } from '../cli/helpers.js';
import { netnsSkipReason, type TwoNodeNetwork } from '../helpers/netns.js';
import { baseEnv, startOnNode, useTwoNodeNetworks, within, type NodeProcess } from '../helpers/node-process.js';
import { until } from '../helpers/procs.js';

// The kubelet's end of a pod (#26 item 4): SIGTERM to the container's process, SIGKILL to every process of the pod
// terminationGracePeriodSeconds later. The pod is a network namespace (port 29500 of the manifest's command is its own)
// running exactly the container command of the manifest `ddprun k8s` wrote; its ranks ignore SIGTERM, the worst case,
// so ddprun's stop takes all of --grace-period before its SIGKILL. The manifest's terminationGracePeriodSeconds must
// leave ddprun that and the time to record the run and exit 75 (preempted) on its own.

const skip = netnsSkipReason();
/** Each rank: ignores SIGTERM (so does its child), says it is ready, runs until killed. */
const STUBBORN = 'trap "" TERM; echo "ready $RANK"; while :; do sleep 1; done';

/** The manifest's Job for a 1-pod × 2-rank CPU job whose ranks ignore SIGTERM. */
function writtenJob(name: string, gracePeriodS: number): Job {
  const run = spawnSync(
    process.execPath,
    [
      ...[CLI, 'k8s', '--json', '--image', 'ddprun:test', '--job-name', name, '--nodes', '1'],
      ...['--nproc-per-node', '2', '--gpus-per-node', '0', '--grace-period', String(gracePeriodS)],
      ...['--no-python', 'sh', '-c', STUBBORN],
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  const list = JSON.parse(run.stdout) as { items: { kind: string }[] };
  return list.items.find((item) => item.kind === 'Job') as Job;
}

/** Pod 0: the container's command, with what Kubernetes gives the container. */
function startPod(net: TwoNodeNetwork, job: Job, name: string): NodeProcess {
  const container = job.spec!.template.spec!.containers[0]!;
  const [ddprun, ...args] = container.command!;
  expect(ddprun).toBe('ddprun');
  const env = baseEnv({
    ...Object.fromEntries(container.env!.map((e) => [e.name, e.value!])),
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    JOB_COMPLETION_INDEX: '0',
    HOSTNAME: `${name}-0`,
  });
  return startOnNode(net, 0, [process.execPath, CLI, ...args], env);
}

describe.skipIf(skip !== undefined)(`a pod's SIGTERM${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { createNetwork, procs } = useTwoNodeNetworks();

  it('ddprun stops the ranks, records the run preempted and exits 75 before the kubelet’s SIGKILL', async () => {
    const net = await createNetwork();
    const name = `ddk-${randomBytes(3).toString('hex')}`;
    const gracePeriodS = 2;
    const job = writtenJob(name, gracePeriodS);
    const podGraceS = job.spec!.template.spec!.terminationGracePeriodSeconds!;
    expect(podGraceS).toBeGreaterThan(gracePeriodS);

    const pod = startPod(net, job, name);
    procs.push(pod);
    await until('both ranks running', () => /ready 0/.test(pod.stdout) && /ready 1/.test(pod.stdout));
    // The kubelet: SIGTERM now, SIGKILL once the pod's grace is over.
    pod.child.kill('SIGTERM');
    let killedByKubelet = false;
    const kubelet = setTimeout(() => {
      killedByKubelet = true;
      pod.child.kill('SIGKILL');
    }, podGraceS * 1000);
    const exit = await within(pod.exit, (podGraceS + 10) * 1000, 'the pod ending');
    clearTimeout(kubelet);
    expect(killedByKubelet, pod.stderr).toBe(false);
    expect(exit, pod.stderr).toEqual({ code: 75, signal: null });
    expect(pod.stderr).toMatch(/preempted/i);
    expect(pod.stderr).toContain(`Kubernetes`);
  });
});
