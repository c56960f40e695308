import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Whether to colour `stream`: FORCE_COLOR set (and not `0`/`false`) forces colour, as Node's own `tty` does, over
 * NO_COLOR; NO_COLOR set and non-empty turns it off (https://no-color.org); otherwise colour only on a terminal.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  return Boolean(stream.isTTY);
}

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  return pc.createColors(useColor(stream, env));
}
