import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Job } from 'kubernetes-models/batch/v1/Job';
import { CLI } from '../cli/helpers.js';
import { netnsSkipReason, type TwoNodeNetwork } from '../helpers/netns.js';
import { baseEnv, startOnNode, sums, useTwoNodeNetworks, within, type NodeProcess } from '../helpers/node-process.js';
import { until } from '../helpers/procs.js';
import { torchPython } from '../multinode/torch-python.js';

// A simulated Indexed Job: two network namespaces as its two pods, each given what the control plane gives a pod (the
// host name <job>-<index> in its own UTS namespace, JOB_COMPLETION_INDEX, KUBERNETES_SERVICE_HOST, HOSTNAME, the
// container's env) and an /etc/hosts (`ip netns exec` binds /etc/netns/<ns>/hosts) that first knows only the pod
// itself, as the kubelet writes it; the other pod's <job>-<i>.<service> name comes later, as cluster DNS publishes it.
// Each pod runs exactly the container command of the manifest `ddprun k8s` wrote.

const ALLREDUCE = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

/** The manifest's Job for a 2-pod × 2-rank CPU job named `name`. */
function writtenJob(name: string): Job {
  const run = spawnSync(
    process.execPath,
    [
      ...[CLI, 'k8s', '--json', '--image', 'ddprun:test', '--job-name', name, '--nodes', '2'],
      ...['--nproc-per-node', '2', '--gpus-per-node', '0', '--rdzv-timeout', '60', '--python', found.python!],
      ALLREDUCE,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  const list = JSON.parse(run.stdout) as { items: { kind: string }[] };
  return list.items.find((item) => item.kind === 'Job') as Job;
}

/** /etc/hosts of pod `index`'s namespace: itself, and the names DNS has published so far. */
function writeHosts(net: TwoNodeNetwork, name: string, index: 0 | 1, known: readonly (0 | 1)[]): void {
  const line = (i: 0 | 1) => `${net.nodes[i].addr} ${name}-${i}.${name} ${name}-${i}`;
  const lines = ['127.0.0.1 localhost', line(index), ...known.filter((i) => i !== index).map(line), ''];
  mkdirSync(path.join('/etc/netns', net.nodes[index].ns), { recursive: true });
  // Written in place: `ip netns exec` bind-mounted this very file over /etc/hosts.
  writeFileSync(path.join('/etc/netns', net.nodes[index].ns, 'hosts'), lines.join('\n'));
}

/** Pod `index`: the container's command (its `ddprun` is the built CLI) with what Kubernetes gives the container. */
function startPod(net: TwoNodeNetwork, job: Job, name: string, index: 0 | 1): NodeProcess {
  const container = job.spec!.template.spec!.containers[0]!;
  const [ddprun, ...args] = container.command!;
  expect(ddprun).toBe('ddprun');
  const hostname = `${name}-${index}`;
  const env = baseEnv({
    ...Object.fromEntries(container.env!.map((e) => [e.name, e.value!])),
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    JOB_COMPLETION_INDEX: String(index),
    HOSTNAME: hostname,
  });
  const pod = {
    ...net,
    exec: (i: 0 | 1, argv: readonly string[]) => [
      ...['ip', 'netns', 'exec', net.nodes[i].ns, 'unshare', '--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"'],
      hostname,
      ...argv,
    ],
  };
  return startOnNode(pod, index, [process.execPath, CLI, ...args], env);
}

describe.skipIf(skip !== undefined)(
  `a simulated Indexed Job: two pods as network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const { createNetwork, procs } = useTwoNodeNetworks();

    it('runs the manifest’s command in each pod: 2 × 2 ranks all-reduce, pod 0 started last, its name resolving late', async () => {
      const net = await createNetwork();
      const name = `ddk-${randomBytes(3).toString('hex')}`;
      const job = writtenJob(name);
      writeHosts(net, name, 0, []);
      writeHosts(net, name, 1, []);

      // Pod 1 first: pod 0's name does not resolve yet, and pod 1 waits for it instead of failing.
      const pod1 = startPod(net, job, name, 1);
      procs.push(pod1);
      await until(
        'pod 1 waiting for pod 0’s name',
        () => pod1.stderr.includes(`waiting for ${name}-0.${name}`) || pod1.exitedAt !== undefined,
      );
      expect(pod1.exitedAt, pod1.stderr).toBeUndefined();

      // Cluster DNS catches up; then pod 0 starts.
      writeHosts(net, name, 1, [0, 1]);
      writeHosts(net, name, 0, [0, 1]);
      const pod0 = startPod(net, job, name, 0);
      procs.push(pod0);
      const [exit0, exit1] = await within(Promise.all([pod0.exit, pod1.exit]), 120_000, 'the 2 × 2 job finishing');
      expect(exit0, `pod 0:\n${pod0.stderr}`).toEqual({ code: 0, signal: null });
      expect(exit1, `pod 1:\n${pod1.stderr}`).toEqual({ code: 0, signal: null });
      expect(sums(pod0.stdout)).toEqual(['0:10', '1:10']);
      expect(sums(pod1.stdout)).toEqual(['2:10', '3:10']);
    });
  },
);
