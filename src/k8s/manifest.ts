import { EXIT_USAGE } from '../exit-codes.js';

// The Kubernetes objects of one ddprun job, as plain data (the CLI prints them as YAML). Every pod runs the same
// `ddprun …` command; ddprun inside reads its node rank and the master's name from what these objects give the pod
// (see ./env.ts and docs/kubernetes.md).

/** The manifest forms `ddprun k8s --format` writes. */
export const K8S_FORMATS = ['indexed-job', 'jobset', 'trainjob'] as const;
export type K8sFormat = (typeof K8S_FORMATS)[number];

/** The variable that names the headless Service to the pods' ddprun (with JOB_COMPLETION_INDEX and the hostname). */
export const SERVICE_ENV = 'DDPRUN_K8S_SERVICE';
/** The container's name: podFailurePolicy's exit-code rules name it. */
export const CONTAINER = 'ddprun';
/** The replicated Job of the JobSet and TrainJob forms (Kubeflow's runtimes name it so): pods `<name>-node-0-<i>`. */
export const REPLICATED_JOB = 'node';
/** The ClusterTrainingRuntime a TrainJob runs on: Kubeflow Trainer's PyTorch runtime (its container: `node`). */
export const TRAINJOB_RUNTIME = 'torch-distributed';
/** Who writes the TrainJob's runtime patch (a TrainJob's runtimePatches are keyed by their manager). */
export const PATCH_MANAGER = 'ddprun.dev/k8s';
/** The label every object and pod of a job carries, with the job's name. */
export const JOB_LABEL = 'ddprun.dev/job';
/** The master port the command names (a pod has its own network namespace: a fixed port cannot clash). */
export const K8S_MASTER_PORT = 29500;
/** What ddprun gets on top of --grace-period before the kubelet's SIGKILL: its own stop and its record's last write. */
export const GRACE_MARGIN_S = 15;

export interface K8sJob {
  /** The Job's (and Service's) name: a DNS label; pods are `<name>-<index>`. */
  name: string;
  image: string;
  /** Pods, one ddprun each. */
  nodes: number;
  /** `nvidia.com/gpu` limit per pod; 0: a CPU job (no GPU asked for). */
  gpusPerNode: number;
  /** Ranks per pod when the command fixes them (a TrainJob's numProcPerNode); undefined: ddprun decides in the pod. */
  procsPerNode?: number;
  /** The container's command: `ddprun …`, as each pod runs it. */
  command: string[];
  /** --grace-period, seconds: the pod's terminationGracePeriodSeconds is this plus GRACE_MARGIN_S. */
  gracePeriodS: number;
  namespace?: string;
  /** JobSet only: how many times JobSet recreates every pod of the group together after a failure (default 0). */
  groupRestarts?: number;
  /** `/dev/shm`'s size limit (a Kubernetes quantity, e.g. 16Gi); default: none (the pod's memory limit bounds it). */
  shmSize?: string;
}

type Obj = Record<string, unknown>;

const NAME_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A pod's hostname `<name>-<index>` is a DNS label (63): room for the index, and JobSet's `-node-0-` on top. */
export const MAX_NAME_LENGTH = 40;

/** Why `name` cannot name a job (a DNS-1123 label, short enough for its pods' hostnames), or undefined. */
export function badJobName(name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `is ${name.length} characters long; at most ${MAX_NAME_LENGTH}`;
  if (!NAME_RE.test(name)) return 'must be lower-case letters, digits and "-", starting with a letter';
  return undefined;
}

function labels(job: K8sJob): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'ddprun', [JOB_LABEL]: job.name };
}

function metadata(job: K8sJob, name = job.name): Obj {
  return { name, ...(job.namespace ? { namespace: job.namespace } : {}), labels: labels(job) };
}

const SHM_MOUNT = { name: 'dshm', mountPath: '/dev/shm' };

/** The one container: the image, ddprun's command, the GPUs, /dev/shm, the master port. */
function container(job: K8sJob, env: Obj[]): Obj {
  return {
    name: CONTAINER,
    image: job.image,
    command: job.command,
    env,
    ports: [{ name: 'master', containerPort: K8S_MASTER_PORT, protocol: 'TCP' }],
    ...(job.gpusPerNode > 0 ? { resources: { limits: { 'nvidia.com/gpu': job.gpusPerNode } } } : {}),
    volumeMounts: [SHM_MOUNT],
  };
}

/** A memory-backed /dev/shm (a container's own is 64 MB), bounded by --shm-size or else by the pod's memory limit. */
function shmVolume(job: K8sJob): Obj {
  return { name: 'dshm', emptyDir: { medium: 'Memory', ...(job.shmSize ? { sizeLimit: job.shmSize } : {}) } };
}

/** The pod: never restarted in place (the group is static), the pause container as PID 1, a memory /dev/shm. */
function podSpec(job: K8sJob, env: Obj[], extra: Obj = {}): Obj {
  return {
    restartPolicy: 'Never',
    ...extra,
    // The pause container is PID 1 and reaps what is reparented to it; ddprun is not PID 1.
    shareProcessNamespace: true,
    terminationGracePeriodSeconds: job.gracePeriodS + GRACE_MARGIN_S,
    containers: [container(job, env)],
    volumes: [shmVolume(job)],
  };
}

/** A usage error (exit 2: a bad flag, the same on every retry) fails the Job at once; a disruption is not counted. */
function podFailurePolicy(): Obj {
  return {
    rules: [
      { action: 'FailJob', onExitCodes: { containerName: CONTAINER, operator: 'In', values: [EXIT_USAGE] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
}

/** The headless Service that gives each pod `<name>-<index>.<name>` in DNS, ready or not. */
export function headlessService(job: K8sJob): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(job),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { [JOB_LABEL]: job.name },
      ports: [{ name: 'master', port: K8S_MASTER_PORT, targetPort: K8S_MASTER_PORT, protocol: 'TCP' }],
    },
  };
}

/** JobSet's restart attempt of a pod (its annotation), for the pod's ddprun: a recreated group resumes its run. */
export const RESTART_ENV = 'DDPRUN_K8S_RESTART';
const RESTART_FROM_JOBSET = {
  name: RESTART_ENV,
  valueFrom: { fieldRef: { fieldPath: "metadata.annotations['jobset.sigs.k8s.io/restart-attempt']" } },
};

/** The Indexed Job's spec: every pod at once, none retried, the failure policy, the pod. */
function indexedJobSpec(job: K8sJob, subdomain: string | undefined): Obj {
  const env = [{ name: SERVICE_ENV, value: job.name }, ...(subdomain ? [] : [RESTART_FROM_JOBSET])];
  return {
    completionMode: 'Indexed',
    completions: job.nodes,
    parallelism: job.nodes,
    // A pod that failed cannot rejoin the running group: the whole Job fails and is started again as a new one.
    backoffLimit: 0,
    podFailurePolicy: podFailurePolicy(),
    template: {
      metadata: { labels: labels(job) },
      spec: podSpec(job, env, subdomain ? { subdomain } : {}),
    },
  };
}

/**
 * The JobSet: one replicated Job (`node`) of the same Indexed Job; JobSet's own headless Service (named as the
 * JobSet) makes pod i `<name>-node-0-<i>.<name>`, which ddprun reads as it reads an Indexed Job's.
 */
export function jobSet(job: K8sJob): Obj {
  return {
    apiVersion: 'jobset.x-k8s.io/v1alpha2',
    kind: 'JobSet',
    metadata: metadata(job),
    spec: {
      network: { enableDNSHostnames: true, subdomain: job.name, publishNotReadyAddresses: true },
      // A failed pod fails its Job, and the JobSet; maxRestarts N recreates every pod of the group together, N times
      // (a new group: a replaced pod alone could not rejoin the running one). A usage error is the same every time:
      // the podFailurePolicy fails its Job with reason PodFailurePolicy, which fails the JobSet at once.
      failurePolicy: {
        maxRestarts: job.groupRestarts ?? 0,
        rules: [{ name: 'usage-error', action: 'FailJobSet', onJobFailureReasons: ['PodFailurePolicy'] }],
      },
      replicatedJobs: [
        {
          name: REPLICATED_JOB,
          replicas: 1,
          template: { metadata: { labels: labels(job) }, spec: indexedJobSpec(job, undefined) },
        },
      ],
    },
  };
}

/**
 * The Kubeflow TrainJob (Trainer v2.2+): the `torch-distributed` runtime makes the JobSet (pods `<name>-node-0-<i>`,
 * PET_* set in them); ddprun's command, GPUs and Service variable go in `trainer`, and a runtime patch adds what the
 * runtime's pod lacks: /dev/shm, the grace period, the job's label. A runtime patch cannot set the Job's
 * podFailurePolicy nor shareProcessNamespace: docs/kubernetes.md says what that leaves.
 */
export function trainJob(job: K8sJob): Obj {
  const pod = {
    metadata: { labels: labels(job) },
    spec: {
      terminationGracePeriodSeconds: job.gracePeriodS + GRACE_MARGIN_S,
      containers: [{ name: REPLICATED_JOB, volumeMounts: [SHM_MOUNT] }],
      volumes: [shmVolume(job)],
    },
  };
  const patch = { replicatedJobs: [{ name: REPLICATED_JOB, template: { spec: { template: pod } } }] };
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: metadata(job),
    spec: {
      runtimeRef: { name: TRAINJOB_RUNTIME },
      trainer: {
        image: job.image,
        command: job.command,
        env: [{ name: SERVICE_ENV, value: job.name }, RESTART_FROM_JOBSET],
        numNodes: job.nodes,
        ...(job.procsPerNode !== undefined ? { numProcPerNode: job.procsPerNode } : {}),
        ...(job.gpusPerNode > 0 ? { resourcesPerNode: { limits: { 'nvidia.com/gpu': job.gpusPerNode } } } : {}),
      },
      runtimePatches: [{ manager: PATCH_MANAGER, trainingRuntimeSpec: { template: { spec: patch } } }],
    },
  };
}

/** The Indexed Job: one pod per node, JOB_COMPLETION_INDEX as the node rank, `<name>-0.<name>` as the master. */
export function indexedJob(job: K8sJob): Obj {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: metadata(job), spec: indexedJobSpec(job, job.name) };
}

/** The objects of `format`, in the order they are applied. */
export function manifests(job: K8sJob, format: K8sFormat): Obj[] {
  switch (format) {
    case 'indexed-job':
      return [headlessService(job), indexedJob(job)];
    case 'jobset':
      return [jobSet(job)];
    case 'trainjob':
      return [trainJob(job)];
  }
}
