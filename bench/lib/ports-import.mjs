// ddprun's port search from the build; PORT_HOLD_MS is not exported from the package root, so it is mirrored here.
export { findFreeNetworkPort } from '../../dist/ultralytics/index.js';
export const PORT_HOLD_MS = 5_000;
