import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Service } from 'kubernetes-models/v1/Service';
import { CLI, ensureBuilt } from '../cli/helpers.js';

ensureBuilt();

/** `ddprun k8s …` as a person runs it: exit code, stdout, stderr. */
function k8s(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const run = spawnSync(process.execPath, [CLI, 'k8s', ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The YAML stream's documents, each validated against the Kubernetes API schema of its kind. */
function validated(yaml: string): [Service, Job] {
  const docs = parseAllDocuments(yaml).map((doc) => doc.toJS() as { kind?: string });
  const models = docs.map((doc) => {
    if (doc.kind === 'Service') return new Service(doc as Service);
    if (doc.kind === 'Job') return new Job(doc as Job);
    throw new Error(`no schema for kind ${String(doc.kind)}`);
  });
  for (const model of models) model.validate();
  return models as [Service, Job];
}

const TRAINER = ['train', 'ultralytics.models.yolo.detect.DetectionTrainer', 'model=yolo11n.pt', 'data=coco8.yaml'];
const JOBS: Record<string, string[]> = {
  'CPU script job': [
    '--job-name',
    'cpu',
    '--nodes',
    '2',
    '--nproc-per-node',
    '2',
    '--gpus-per-node',
    '0',
    'train.py',
    '--lr',
    '0.1',
  ],
  'GPU script job': ['--job-name', 'gpu', '--nnodes', '2', '--nproc-per-node', '8', '--shm-size', '16Gi', 'train.py'],
  'GPU trainer job': ['--job-name', 'yolo', '--nodes', '2', '--grace-period', '60', ...TRAINER, 'device=0,1,2,3'],
  'CPU trainer job': ['--job-name', 'yolo-cpu', '--nodes', '3', '--namespace', 'ml', ...TRAINER, 'device=cpu'],
};

describe('ddprun k8s --format indexed-job', () => {
  for (const [name, args] of Object.entries(JOBS)) {
    it(`writes a headless Service and an Indexed Job that validate against the API schemas: ${name}`, () => {
      const run = k8s(['--image', 'ghcr.io/acme/train:1', '--dry-run', ...args]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const [service, job] = validated(run.stdout);
      expect(run.stdout).toMatchSnapshot();
      expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      const spec = job.spec!;
      expect(spec.completionMode).toBe('Indexed');
      expect(spec.completions).toBe(spec.parallelism);
      const pod = spec.template.spec!;
      // The pods' DNS names live under the Service: <job>-<index>.<service>.
      expect(pod.subdomain).toBe(service.metadata!.name);
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.containers[0]!.command![0]).toBe('ddprun');
      expect(pod.volumes?.find((v) => v.name === 'dshm')?.emptyDir?.medium).toBe('Memory');
    });
  }

  it('asks for the GPUs of --nproc-per-node and of device=, and none for a CPU job', () => {
    const gpus = (args: string[]) => {
      const [, job] = validated(k8s(['--image', 'i', ...args]).stdout);
      return job.spec!.template.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu'];
    };
    expect(gpus(JOBS['GPU script job']!)).toBe(8);
    expect(gpus(JOBS['GPU trainer job']!)).toBe(4);
    expect(gpus(JOBS['CPU trainer job']!)).toBeUndefined();
    expect(gpus(JOBS['CPU script job']!)).toBeUndefined();
  });

  it('maps exit codes and disruptions to the podFailurePolicy, and --grace-period to the pod’s grace', () => {
    const [, job] = validated(k8s(['--image', 'i', ...JOBS['GPU trainer job']!]).stdout);
    expect(job.spec!.backoffLimit).toBe(0);
    expect(job.spec!.podFailurePolicy!.rules).toEqual([
      { action: 'FailJob', onExitCodes: { containerName: 'ddprun', operator: 'In', values: [2] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
    expect(job.spec!.template.spec!.terminationGracePeriodSeconds).toBe(75);
    expect(job.spec!.template.spec!.containers[0]!.command).toEqual([
      'ddprun',
      'train',
      ...['--nnodes', '2', '--master-port', '29500', '--grace-period', '60'],
      ...TRAINER.slice(1),
      'device=0,1,2,3',
    ]);
  });

  it('prints a JSON List with --json', () => {
    const run = k8s(['--image', 'i', '--json', '--job-name', 'j', 'a.py']);
    const list = JSON.parse(run.stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((item) => item.kind)).toEqual(['Service', 'Job']);
  });

  it('the schema check is no formality: a wrong field type fails it', () => {
    const [, job] = validated(k8s(['--image', 'i', '--job-name', 'j', 'a.py']).stdout);
    const broken = { ...job.toJSON(), spec: { ...job.spec, completionMode: 3 } } as unknown as Job;
    expect(() => new Job(broken).validate()).toThrow(/completionMode/);
  });

  it.each([
    [['a.py'], '--image'],
    [['--image', 'i', '--node-rank', '1', 'a.py'], '--node-rank'],
    [['--image', 'i', '--master-addr', 'h', 'a.py'], '--master-addr'],
    [['--image', 'i', '--nodes', '2', '--nnodes', '3', 'a.py'], '--nnodes'],
    [['--image', 'i', '--nnodes', '1:4', 'a.py'], '--nnodes'],
    [['--image', 'i', '--job-name', 'Bad_Name', 'a.py'], '--job-name'],
    [['--image', 'i', '--nproc-per-node', 'gpu', 'a.py'], '--gpus-per-node'],
    [['--image', 'i', '--dry-run', '--apply', 'a.py'], '--apply'],
    [['--image', 'i'], 'script'],
  ])('refuses %j with exit 2, naming %s, and prints no manifest', (args, named) => {
    const run = k8s(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(named);
  });
});
