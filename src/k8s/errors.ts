import { DdprunError } from '../errors.js';

/** `ddprun k8s --apply` found no kubectl to submit with (nothing was submitted or written). */
export class KubectlNotFoundError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_KUBECTL_NOT_FOUND';
}
