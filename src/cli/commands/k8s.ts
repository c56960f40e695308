import { parseK8s } from '../args-k8s.js';
import type { Command } from './command.js';

/** `ddprun k8s --image IMAGE …`: the same launch as a Kubernetes Job. */
export const k8s: Command<'k8s'> = {
  name: 'k8s',
  parse: parseK8s,
  run: async (command, io) => (await import('../k8s-submit.js')).runK8s(command.submit, command.output, io),
};
