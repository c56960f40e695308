import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { JobTemplateSpec, type IJobTemplateSpec } from 'kubernetes-models/batch/v1/JobTemplateSpec';
import { Service } from 'kubernetes-models/v1/Service';
import { CLI, ensureBuilt } from '../cli/helpers.js';
import { validateCustomResource } from './crd-schema.js';

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
    [['--image', 'i', '--group-restarts', '1', 'a.py'], '--group-restarts'],
    [['--image', 'i', '--format', 'jobset', '--group-restarts', '-1', 'a.py'], '--group-restarts'],
    [['--image', 'i'], 'script'],
  ])('refuses %j with exit 2, naming %s, and prints no manifest', (args, named) => {
    const run = k8s(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(named);
  });
});

const RESTART_ENV = {
  name: 'DDPRUN_K8S_RESTART',
  valueFrom: { fieldRef: { fieldPath: "metadata.annotations['jobset.sigs.k8s.io/restart-attempt']" } },
};

interface Meta {
  name: string;
  labels?: Record<string, string>;
}
interface JobSetDoc {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec: {
    network: unknown;
    failurePolicy: unknown;
    replicatedJobs: { name: string; replicas: number; template: IJobTemplateSpec }[];
  };
}
interface PatchPod {
  metadata: Meta;
  spec: { volumes: unknown[]; containers: unknown[]; terminationGracePeriodSeconds: number; [k: string]: unknown };
}
interface TrainJobDoc {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec: {
    runtimeRef?: unknown;
    trainer: { command: string[]; env: unknown; numProcPerNode?: number; resourcesPerNode?: unknown };
    runtimePatches: {
      trainingRuntimeSpec: {
        template: { spec: { replicatedJobs: { name: string; template: { spec: { template: PatchPod } } }[] } };
      };
    }[];
  };
}

/** The one document of `ddprun k8s --format FORMAT …`'s output. */
function onlyDocument<T>(format: string, args: readonly string[]): T {
  const run = k8s(['--image', 'ghcr.io/acme/train:1', '--format', format, ...args]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const docs = parseAllDocuments(run.stdout).map((doc) => doc.toJS() as T);
  expect(docs).toHaveLength(1);
  expect(run.stdout).toMatchSnapshot();
  return docs[0]!;
}

/** The pod a TrainJob's runtime patch adds to. */
function patchPod(trainjob: TrainJobDoc): { name: string; pod: PatchPod } {
  const [job] = trainjob.spec.runtimePatches[0]!.trainingRuntimeSpec.template.spec.replicatedJobs;
  return { name: job!.name, pod: job!.template.spec.template };
}

const JOBS_NODES: Record<string, number> = {
  'CPU script job': 2,
  'GPU script job': 2,
  'GPU trainer job': 2,
  'CPU trainer job': 3,
};

describe('ddprun k8s --format jobset', () => {
  for (const [name, args] of Object.entries(JOBS)) {
    it(`writes a JobSet that validates against its CRD, its Job template against the API schemas: ${name}`, () => {
      const jobset = onlyDocument<JobSetDoc>('jobset', args);
      validateCustomResource('jobset.v1alpha2.json', jobset);
      expect(jobset).toMatchObject({ apiVersion: 'jobset.x-k8s.io/v1alpha2', kind: 'JobSet' });
      // JobSet's replicated Job's template is a batch/v1 JobTemplateSpec: the API server's schema for it.
      const [node, ...others] = jobset.spec.replicatedJobs;
      expect(others).toEqual([]);
      expect(node).toMatchObject({ name: 'node', replicas: 1 });
      const template = new JobTemplateSpec(node!.template);
      template.validate();
      expect(template.spec!.completionMode).toBe('Indexed');
      expect(template.spec!.completions).toBe(JOBS_NODES[name]);
      // Pod i is <name>-node-0-<i>.<name>: JobSet's own headless Service, named as the JobSet.
      expect(jobset.spec.network).toEqual({
        enableDNSHostnames: true,
        subdomain: jobset.metadata.name,
        publishNotReadyAddresses: true,
      });
      // A failed pod fails the JobSet; a usage error (its Job failed by the podFailurePolicy) even with restarts left.
      expect(jobset.spec.failurePolicy).toEqual({
        maxRestarts: 0,
        rules: [{ name: 'usage-error', action: 'FailJobSet', onJobFailureReasons: ['PodFailurePolicy'] }],
      });
      const pod = template.spec!.template.spec!;
      expect(pod.subdomain).toBeUndefined();
      // JobSet's restart attempt, for a recreated group's ddprun train to resume its run.
      expect(pod.containers[0]!.env).toEqual([
        { name: 'DDPRUN_K8S_SERVICE', value: jobset.metadata.name },
        RESTART_ENV,
      ]);
    });
  }
});

it('--group-restarts N sets the JobSet’s maxRestarts: the whole group recreated together', () => {
  const jobset = onlyDocument<JobSetDoc>('jobset', [
    '--job-name',
    'j',
    '--nodes',
    '2',
    '--group-restarts',
    '3',
    'a.py',
  ]);
  validateCustomResource('jobset.v1alpha2.json', jobset);
  expect(jobset.spec.failurePolicy).toMatchObject({ maxRestarts: 3 });
});

describe('ddprun k8s --format trainjob', () => {
  for (const [name, args] of Object.entries(JOBS)) {
    it(`writes a Kubeflow TrainJob that validates against its CRD: ${name}`, () => {
      const trainjob = onlyDocument<TrainJobDoc>('trainjob', args);
      validateCustomResource('trainjob.v1alpha1.json', trainjob);
      expect(trainjob).toMatchObject({ apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob' });
      expect(trainjob.spec.runtimeRef).toEqual({ name: 'torch-distributed' });
      const { trainer } = trainjob.spec;
      expect(trainer.command[0]).toBe('ddprun');
      expect(trainer.env).toEqual([{ name: 'DDPRUN_K8S_SERVICE', value: trainjob.metadata.name }, RESTART_ENV]);
      // The patch's pod: /dev/shm, the grace, the label `--apply` follows the logs by.
      const { name: job, pod } = patchPod(trainjob);
      expect(job).toBe('node');
      expect(pod.metadata.labels?.['ddprun.dev/job']).toBe(trainjob.metadata.name);
      expect(pod.spec.volumes).toMatchObject([{ name: 'dshm', emptyDir: { medium: 'Memory' } }]);
      expect(pod.spec.containers).toEqual([{ name: 'node', volumeMounts: [{ name: 'dshm', mountPath: '/dev/shm' }] }]);
    });
  }

  it('gives numProcPerNode and the GPUs from --nproc-per-node and device=, as the other forms', () => {
    const trainer = (args: string[]) =>
      (parseAllDocuments(k8s(['--image', 'i', '--format', 'trainjob', ...args]).stdout)[0]!.toJS() as TrainJobDoc).spec
        .trainer;
    const gpus = (n: number) => ({ resourcesPerNode: { limits: { 'nvidia.com/gpu': n } } });
    expect(trainer(JOBS['GPU script job']!)).toMatchObject({ numNodes: 2, numProcPerNode: 8, ...gpus(8) });
    expect(trainer(JOBS['GPU trainer job']!)).toMatchObject({ numNodes: 2, numProcPerNode: 4, ...gpus(4) });
    expect(trainer(JOBS['CPU script job']!)).toMatchObject({ numNodes: 2, numProcPerNode: 2 });
    expect(trainer(JOBS['CPU script job']!).resourcesPerNode).toBeUndefined();
    // A trainer on the CPU: ddprun counts its ranks in the pod (PET_NPROC_PER_NODE is not read by `ddprun train`).
    expect(trainer(JOBS['CPU trainer job']!).numProcPerNode).toBeUndefined();
    expect(trainer(['--job-name', 'one', 'a.py']).numProcPerNode).toBe(1);
  });
});

describe('the custom resources’ schema check is no formality', () => {
  const first = <T>(args: string[]) => parseAllDocuments(k8s(['--image', 'i', ...args]).stdout)[0]!.toJS() as T;

  it('refuses a wrong type and an unknown field in a JobSet', () => {
    const jobset = first<JobSetDoc>(['--format', 'jobset', '--job-name', 'j', 'a.py']);
    validateCustomResource('jobset.v1alpha2.json', jobset);
    const withSpec = (spec: Record<string, unknown>) => ({ ...jobset, spec: { ...jobset.spec, ...spec } });
    expect(() =>
      validateCustomResource('jobset.v1alpha2.json', withSpec({ failurePolicy: { maxRestarts: '0' } })),
    ).toThrow(/maxRestarts/);
    expect(() => validateCustomResource('jobset.v1alpha2.json', withSpec({ network: { subdomian: 'j' } }))).toThrow(
      /subdomian/,
    );
  });

  it('refuses a TrainJob without its runtime, or with a patch Trainer does not allow', () => {
    const trainjob = first<TrainJobDoc>(['--format', 'trainjob', '--job-name', 'j', 'a.py']);
    validateCustomResource('trainjob.v1alpha1.json', trainjob);
    const { runtimeRef: _, ...noRuntime } = trainjob.spec;
    expect(() => validateCustomResource('trainjob.v1alpha1.json', { ...trainjob, spec: noRuntime })).toThrow(
      /runtimeRef/,
    );
    // A runtime patch may set only what Trainer lets it: shareProcessNamespace is not among it.
    const patched = structuredClone(trainjob);
    patchPod(patched).pod.spec.shareProcessNamespace = true;
    expect(() => validateCustomResource('trainjob.v1alpha1.json', patched)).toThrow(/shareProcessNamespace/);
  });
});
