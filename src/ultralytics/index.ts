// `ddprun/ultralytics`: the port of `ultralytics/utils/dist.py` and the helpers it stands on.
export { generateDdpFile, generateDdpCommand, ddpCleanup } from './dist.js';
export type { GenerateDdpFileOptions, GenerateDdpCommandOptions } from './dist.js';
export { trainerId } from './trainer.js';
export { getUserConfigDir } from './config-dir.js';
export { sweepStaleEntryFiles } from './entry-file.js';
export { removeSaveDir, checkSaveDir } from './save-dir.js';
export type { SaveDirOptions } from './save-dir.js';
export type { DdpTrainer } from '../model/trainer.js';
export { toPythonLiteral, pyFloat, PyFloat, pyTuple, PyTuple, pyDict, PyDict } from '../python/literal.js';
export type { ToPythonLiteralOptions } from '../python/literal.js';
export { findFreeNetworkPort } from '../net/port.js';
export { parseDevice, ddpWorldSizeFromDevice, resolveCudaDevices, selectIdleGpus, listGpus } from '../devices.js';
export type { ParsedDevice, Gpu } from '../devices.js';
