import { spawn, spawnSync } from 'node:child_process';
import { stringify } from 'yaml';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { KubectlNotFoundError } from '../k8s/errors.js';
import { JOB_LABEL, manifests, type K8sJob } from '../k8s/manifest.js';
import { which } from '../os/which.js';
import type { K8sSubmit } from './args-k8s.js';
import type { OutputFlags } from './flag-specs.js';
import type { Io } from './io.js';

/** How often `--apply` looks at the Job's conditions. */
const POLL_MS = 2000;

/** The manifests' objects of a submission. */
export function k8sObjects(submit: K8sSubmit): Record<string, unknown>[] {
  const job: K8sJob = {
    name: submit.name,
    image: submit.image,
    nodes: submit.nodes,
    gpusPerNode: submit.gpusPerNode,
    command: submit.command,
    gracePeriodS: submit.gracePeriodS,
    ...(submit.procsPerNode !== undefined ? { procsPerNode: submit.procsPerNode } : {}),
    ...(submit.namespace ? { namespace: submit.namespace } : {}),
    ...(submit.shmSize ? { shmSize: submit.shmSize } : {}),
    ...(submit.groupRestarts !== undefined ? { groupRestarts: submit.groupRestarts } : {}),
  };
  return manifests(job, submit.format);
}

/** The objects as one YAML stream (`---` between documents), as kubectl apply -f reads it. */
export function k8sYaml(objects: readonly Record<string, unknown>[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** kubectl's arguments, with --namespace when the job names one. */
function kubectlArgs(submit: K8sSubmit, args: string[]): string[] {
  return [...(submit.namespace ? ['--namespace', submit.namespace] : []), ...args];
}

/** The Job's end: `Complete`, `Failed`, or undefined while it runs. */
function jobEnd(kubectl: string, submit: K8sSubmit, io: Io): string | undefined {
  const kind = submit.format === 'indexed-job' ? 'job' : submit.format === 'jobset' ? 'jobset' : 'trainjob';
  const got = spawnSync(
    kubectl,
    kubectlArgs(submit, [
      'get',
      `${kind}/${submit.name}`,
      '-o',
      'jsonpath={.status.conditions[?(@.status=="True")].type}',
    ]),
    { encoding: 'utf8', env: io.env, timeout: 30_000 },
  );
  const types = got.stdout.split(/\s+/);
  return types.find((t) => t === 'Complete' || t === 'Completed' || t === 'Failed');
}

/** `--apply`: kubectl apply on stdin (nothing written here), then the pods' logs until the Job ends. */
async function apply(submit: K8sSubmit, yaml: string, io: Io): Promise<number> {
  const kubectl = which('kubectl', { envPath: io.env.PATH });
  if (kubectl === undefined)
    throw new KubectlNotFoundError(
      'kubectl is not on PATH: --apply submits with it. Install kubectl (and a kubeconfig for the cluster), or print the manifests without --apply and apply them elsewhere. Nothing was submitted.',
    );
  const applied = spawnSync(kubectl, kubectlArgs(submit, ['apply', '-f', '-']), {
    input: yaml,
    encoding: 'utf8',
    env: io.env,
  });
  io.stderr.write(applied.stderr);
  if (applied.status !== 0) return applied.status ?? EXIT_ERROR;
  io.stdout.write(applied.stdout);
  const logs = spawn(
    kubectl,
    kubectlArgs(submit, [
      'logs',
      '-f',
      '--prefix',
      '--ignore-errors',
      '-l',
      `${JOB_LABEL}=${submit.name}`,
      '--max-log-requests',
      String(submit.nodes + 1),
      '--pod-running-timeout',
      '10m',
    ]),
    { stdio: ['ignore', 'inherit', 'inherit'], env: io.env },
  );
  let end: string | undefined;
  while ((end = jobEnd(kubectl, submit, io)) === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
  logs.kill('SIGTERM');
  io.stderr.write(`ddprun k8s: ${submit.name} ${end === 'Failed' ? 'failed' : 'completed'}\n`);
  return end === 'Failed' ? EXIT_ERROR : EXIT_OK;
}

/** `ddprun k8s`: prints the manifests (YAML, or JSON with --json), or submits them with --apply. */
export async function runK8s(submit: K8sSubmit, output: OutputFlags, io: Io): Promise<number> {
  const objects = k8sObjects(submit);
  const yaml = k8sYaml(objects);
  if (submit.apply) return await apply(submit, yaml, io);
  io.stdout.write(output.json ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })}\n` : yaml);
  return EXIT_OK;
}
