const EXPECTED_LAYOUT =
  'ddprun starts every rank of a node itself, so it expects one task per node: ' +
  '`srun --ntasks-per-node=1 ddprun …` (or `ddprun slurm`, which writes that line for you)';

/**
 * Says why ddprun must not start when it runs as one of several tasks of a Slurm step on the same
 * node: each task would start all of the node's ranks, N×N processes fighting over the same
 * devices and master port. `undefined` when the layout is fine (or outside a step).
 */
export function detectSlurmMultiTask(env: NodeJS.ProcessEnv): string | undefined {
  if (!inStep(env)) return undefined;
  const tasks = tasksOnThisNode(env);
  if (tasks === undefined || tasks.count <= 1) return undefined;
  const localId = env.SLURM_LOCALID?.trim();
  const which = localId ? ` (this is local task ${localId})` : '';
  return (
    `ddprun was started as one of ${tasks.count} Slurm tasks on this node${which}, from ${tasks.source}; ` +
    `${EXPECTED_LAYOUT}. Run it with --ntasks-per-node=1 and set the ranks per node with --nproc-per-node.`
  );
}

/**
 * Says why ddprun must not start when it runs in a batch script (or an `salloc` shell) of a
 * multi-node allocation without `srun`: it would run on the first node only and wait for the
 * others until the rendezvous times out. `undefined` when the layout is fine.
 */
export function detectSlurmMissingStep(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.SLURM_JOB_ID?.trim() || inStep(env)) return undefined;
  const nodes = Number(env.SLURM_NNODES?.trim() || env.SLURM_JOB_NUM_NODES?.trim());
  if (!Number.isSafeInteger(nodes) || nodes <= 1) return undefined;
  return (
    `ddprun was started outside \`srun\` in a Slurm job of ${nodes} nodes, so it would run on one node only ` +
    `and wait for the others; ${EXPECTED_LAYOUT}.`
  );
}

function inStep(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SLURM_STEP_ID?.trim() || env.SLURM_STEPID?.trim());
}

/**
 * How many tasks of this step share this node. SLURM_STEP_TASKS_PER_NODE describes the step
 * itself; SLURM_NTASKS_PER_NODE may be inherited from the job's request, so it is only a fallback.
 */
function tasksOnThisNode(env: NodeJS.ProcessEnv): { count: number; source: string } | undefined {
  const stepTasks = env.SLURM_STEP_TASKS_PER_NODE?.trim();
  const nodeId = Number(env.SLURM_NODEID?.trim() || '0');
  if (stepTasks) {
    const counts = parseTasksPerNode(stepTasks);
    const count = counts?.[Number.isSafeInteger(nodeId) ? nodeId : 0];
    if (count !== undefined) return { count, source: `SLURM_STEP_TASKS_PER_NODE=${stepTasks}` };
  }
  const localId = Number(env.SLURM_LOCALID?.trim());
  if (Number.isSafeInteger(localId) && localId > 0) return { count: localId + 1, source: `SLURM_LOCALID=${localId}` };
  for (const name of ['SLURM_NTASKS_PER_NODE', 'SLURM_TASKS_PER_NODE'] as const) {
    const value = env[name]?.trim();
    const count = value ? parseTasksPerNode(value)?.[Number.isSafeInteger(nodeId) ? nodeId : 0] : undefined;
    if (count !== undefined) return { count, source: `${name}=${value}` };
  }
  return undefined;
}

/** Slurm's compressed per-node counts: `2(x3),1` → [2, 2, 2, 1]; `undefined` when malformed. */
export function parseTasksPerNode(text: string): number[] | undefined {
  const counts: number[] = [];
  for (const item of text.split(',')) {
    const match = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(item);
    if (!match) return undefined;
    const repeat = match[2] === undefined ? 1 : Number(match[2]);
    if (repeat > 100_000) return undefined;
    for (let i = 0; i < repeat; i++) counts.push(Number(match[1]));
  }
  return counts;
}
