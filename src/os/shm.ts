import { statfsSync } from 'node:fs';

/** Where Linux keeps POSIX shared memory: DataLoader workers hand every batch to their rank through it. */
export const SHM_DIR = '/dev/shm';

/** Below this, `ddprun doctor` warns: Docker's default `/dev/shm` is 64 MB, which a few DataLoader workers fill. */
export const SHM_WARN_BELOW_BYTES = 1024 ** 3;

export interface ShmSize {
  path: string;
  sizeBytes: number;
  freeBytes: number;
}

/** The size and free space of `/dev/shm` as this process sees it (its mount namespace); undefined when it is missing. */
export function shmSize(dir: string = SHM_DIR): ShmSize | undefined {
  try {
    const fs = statfsSync(dir);
    return { path: dir, sizeBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize };
  } catch {
    return undefined;
  }
}
