// The exact commands of the three contenders. Each gets the same rank count, entry point and arguments.

export const CONTENDERS = ['ddprun', 'torchrun', 'floor'];
/** ddprun without its run record (`--no-record`): benchmarks 1 and 5 run it too, to show what recording costs. */
export const NO_RECORD = 'ddprun --no-record';

// The floor: start the ranks with torchrun's worker environment in the background and wait. No supervision.
// Each rank gets its own session (setsid, which execs in place: same pid), as ddprun's detached ranks do: with the
// kernel's autogroup scheduler a session is a scheduling group, so under other load ranks sharing one session would
// get less CPU than ddprun's, and the floor would not be a floor.
// $1 ranks, $2 MASTER_PORT, then the command of every rank.
const FLOOR = `n=$1; port=$2; shift 2
export MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n ROLE_WORLD_SIZE=$n GROUP_RANK=0 GROUP_WORLD_SIZE=1 ROLE_NAME=default TORCHELASTIC_RESTART_COUNT=0 TORCHELASTIC_MAX_RESTARTS=0 TORCHELASTIC_RUN_ID=none OMP_NUM_THREADS=1
s=$(command -v setsid)
i=0; while [ $i -lt $n ]; do RANK=$i LOCAL_RANK=$i ROLE_RANK=$i $s "$@" & i=$((i+1)); done; wait`;

/**
 * Builds { file, args, display } per contender for a job { nproc, entry, args, noPython } and a port.
 * `ddprunCmd` is ['node', 'dist/cli/main.js'] (the CLI as a user runs it) or the API fallback script.
 */
export function commandFor(contender, job, { python, ddprunCmd, port }) {
  const n = String(job.nproc);
  const extra = job.args ?? [];
  if (contender === 'ddprun' || contender === NO_RECORD) {
    const [file, ...pre] = ddprunCmd;
    const flags = [
      ...(contender === NO_RECORD ? ['--no-record'] : []),
      '--nproc-per-node',
      n,
      ...(job.noPython ? ['--no-python'] : []),
    ];
    const args = [...pre, ...flags, job.entry, ...extra];
    return { file, args, display: ['ddprun', ...flags, job.entry, ...extra].join(' ') };
  }
  if (contender === 'torchrun') {
    const flags = [
      '-m',
      'torch.distributed.run',
      '--redirects',
      '9:1',
      '--tee',
      '9:1',
      '--nproc_per_node',
      n,
      '--master_port',
    ];
    // torch 1.13 spells it --no_python (later versions accept --no-python too).
    const noPython = job.noPython ? ['--no_python'] : [];
    const args = [...flags, String(port), ...noPython, job.entry, ...extra];
    return {
      file: python,
      args,
      display: [python, ...flags, '$FREE_PORT', ...noPython, job.entry, ...extra].join(' '),
    };
  }
  const rank = job.noPython ? [job.entry, ...extra] : [python, '-u', job.entry, ...extra];
  return {
    file: '/bin/sh',
    args: ['-c', FLOOR, 'floor', n, String(port), ...rank],
    display: `sh -c '<loop: RANK=$i LOCAL_RANK=$i … ${rank.join(' ')} & … ; wait>' (${n} ranks, MASTER_PORT=$FREE_PORT)`,
  };
}

/** The floor's shell loop, printed once in BENCHMARKS.md. */
export const FLOOR_SCRIPT = FLOOR;
