// 1b. Start-up of the CLI alone: `ddprun --version` and `ddprun --help` against `node -e 0`, in pairs.
import { medianOf, minOf, row } from './result.mjs';

export const meta = {
  id: 1.5,
  label: '1b',
  title: '`ddprun --version` and `ddprun --help`: start → exit, against `node -e 0`',
  goal: '≤ 1.2 × `node -e 0`',
};

/** The CLI's start-up is the launcher's, without any rank: Node itself (`node -e 0`) is its floor. */
export async function run(h, cfg) {
  const [node, ...cli] = h.ddprunCmd;
  const variants = [
    { name: '--version', args: [...cli, '--version'] },
    { name: '--help', args: [...cli, '--help'] },
  ];
  const values = {};
  const notes = [];
  for (const v of variants) {
    values[v.name] = { ddprun: [], floor: [] };
    // Pairs: `node -e 0`, then ddprun, so that background load hits both alike.
    await h.alternate(cfg.startupPairs, ['floor', 'ddprun'], async (c, i) => {
      const args = c === 'floor' ? ['-e', '0'] : v.args;
      const display = c === 'floor' ? 'node -e 0' : `ddprun ${v.name}`;
      const { measured } = await h.run({
        bench: '1b',
        variant: v.name,
        contender: c,
        command: () => ({ file: node, args, display }),
      });
      if (measured.code === 0) values[v.name][c].push(measured.wallMs);
      else notes.push(`${display} run ${i + 1} failed (exit ${measured.code ?? measured.signal}).`);
    });
  }
  const rows = variants.flatMap((v) => [
    row('ddprun', v.name, 'start → exit', 'ms', values[v.name].ddprun),
    row('floor', v.name, 'start → exit', 'ms', values[v.name].floor),
  ]);
  const ratios = variants.map((v) => ({
    name: v.name,
    median: medianOf(rows, 'ddprun', v.name, 'start → exit') / medianOf(rows, 'floor', v.name, 'start → exit'),
    best: minOf(rows, 'ddprun', v.name, 'start → exit') / minOf(rows, 'floor', v.name, 'start → exit'),
  }));
  return {
    ...meta,
    rows,
    notes: [
      ...notes,
      `The floor here is \`node -e 0\` (Node starting and exiting, nothing loaded), run right before each ddprun run (${cfg.startupPairs} pairs per variant). No torchrun: its \`--help\` imports torch (≈ 1 s).`,
    ],
    goal: {
      met: ratios.every((r) => r.median <= 1.2),
      text: ratios
        .map((r) => `\`${r.name}\` ${r.median.toFixed(2)} × \`node -e 0\` (medians; best runs ${r.best.toFixed(2)} ×)`)
        .concat('goal ≤ 1.2 × each.')
        .join('; '),
    },
  };
}
