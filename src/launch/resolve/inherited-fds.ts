import { existsSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors above 2 that this process holds without close-on-exec: ones it inherited and did not mean to pass on
 * (Node marks its own close-on-exec). A rank would inherit them; torchrun's workers do not (close_fds). Linux only:
 * elsewhere none are reported.
 */
export function inheritedFds(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fdinfo');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * `bash -c 'exec 5>&- 251>&-; exec "$@"' ddprun-close-fds`: closes `fds` in the rank, then runs its command. Empty
 * for none. Without bash, `sh` closes those below 10 (a POSIX shell's redirections take one digit).
 */
export function closeFdsPrefix(fds: readonly number[], bash: string | undefined = BASH): string[] {
  const closable = bash ? fds : fds.filter((fd) => fd < 10);
  if (closable.length === 0) return [];
  return [bash ?? '/bin/sh', '-c', `exec ${closable.map((fd) => `${fd}>&-`).join(' ')}; exec "$@"`, 'ddprun-close-fds'];
}

const BASH = ['/bin/bash', '/usr/bin/bash'].find((file) => existsSync(file));
