import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getRun, listRuns } from 'ddprun';
import { runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { epochsOf, standinEnv, standinTrainArgs } from '../helpers/standin.js';
import { torchPython } from '../helpers/python.js';

// A JobSet's whole-group restart (#28 item 3, `ddprun k8s --format jobset --group-restarts N`): the recreated pod's
// `ddprun train` goes on from the run the group was running. The pod is what the JobSet's pod template gives the
// container: KUBERNETES_SERVICE_HOST, DDPRUN_K8S_SERVICE, JOB_COMPLETION_INDEX and DDPRUN_K8S_RESTART (the
// downward API's value of the restart-attempt annotation); the run store (DDPRUN_STATE_DIR) and the project folder are
// the volume every restart mounts.

const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');

/** Pod 0 of JobSet `js`, in restart attempt `attempt`. */
function podEnv(s: Sandbox, attempt: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return standinEnv(s.env, '0.05', {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    DDPRUN_K8S_SERVICE: 'js',
    JOB_COMPLETION_INDEX: '0',
    HOSTNAME: 'js-node-0-0',
    DDPRUN_K8S_RESTART: String(attempt),
    ...extra,
  });
}

describe.skipIf(!python)('a JobSet restart of the group', () => {
  it('the recreated pod’s ddprun train resumes the failed run of its job from last.pt, linked to it', async () => {
    const s = box();
    const dir = path.join(s.out, 'runs', 'exp');
    const args = ['train', '--nnodes', '1', '--master-port', '29500', ...standinTrainArgs(s.out).slice(1)];
    // Attempt 0: a rank dies after epoch 1; the pod fails, and JobSet recreates the group.
    const first = await runCli(args, { env: podEnv(s, 0, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' }), cwd: s.out });
    expect(first.code, first.stderr).not.toBe(0);
    const [failed] = listRuns({ stateDir: s.state, all: true });
    expect(failed?.status).toBe('failed');
    expect(getRun(failed!.id, { stateDir: s.state }).kubernetes).toEqual({ job: 'js', restartAttempt: 0, index: 0 });
    expect(epochsOf(dir)).toEqual([1]);

    // Attempt 1: the same command, in the recreated pod.
    const again = await runCli(args, { env: podEnv(s, 1), cwd: s.out });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`JobSet restart 1 of js: resuming run ${failed!.id}`);
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    const fresh = listRuns({ stateDir: s.state, all: true }).find((r) => r.id !== failed!.id)!;
    expect(fresh.status).toBe('succeeded');
    expect(getRun(fresh.id, { stateDir: s.state })).toMatchObject({
      resumedFrom: { id: failed!.id, checkpoint: path.join(dir, 'weights', 'last.pt'), epoch: 1 },
      kubernetes: { job: 'js', restartAttempt: 1, index: 0 },
    });
  });
});
