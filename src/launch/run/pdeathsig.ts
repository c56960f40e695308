import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { which } from '../../which.js';

let wrapper: readonly string[] | undefined;

/**
 * The argv prefix that makes a rank die with ddprun even when ddprun is SIGKILLed: Linux's parent-death signal,
 * set by util-linux `setpriv --pdeathsig KILL` just before it execs the rank (so the rank keeps its pid).
 * Empty on other platforms or without setpriv; the watchdog below still covers those.
 */
export function deathSigWrapper(): readonly string[] {
  if (wrapper) return wrapper;
  wrapper = [];
  if (process.platform === 'linux') {
    // sbin-less PATHs (cron, systemd units) still find util-linux's setpriv in /usr/bin.
    const setpriv = which('setpriv', {
      envPath: `${process.env.PATH ?? ''}${path.delimiter}/usr/bin${path.delimiter}/bin`,
    });
    if (setpriv) {
      const help = spawnSync(setpriv, ['--help'], { encoding: 'utf8', timeout: 5000 });
      if (help.stdout?.includes('--pdeathsig')) wrapper = [setpriv, '--pdeathsig', 'KILL', '--'];
    }
  }
  return wrapper;
}

// Reads process-group ids, one a line (`-` forgets those read so far; dash's `kill` needs `--` before a negative pid); on EOF (ddprun is gone, however it died) SIGKILLs each group, which also
// takes the ranks' own children (data-loader workers) that the parent-death signal does not reach. `exit` ends it quietly.
// Then it removes the launch's run folder ($1: error files, torchrun's logs), which no `finally` of ddprun's will.
const WATCHDOG =
  'g=""; while IFS= read -r l; do case "$l" in exit) exit 0;; -) g="";; *) g="$g $l";; esac; done; for p in $g; do kill -s KILL -- "-$p" 2>/dev/null; done; [ -n "$1" ] && rm -rf -- "$1"; exit 0';

/** A tiny `sh` that outlives ddprun just long enough to kill every rank group ddprun leaves behind, and remove `runDir`. */
export class Watchdog {
  private readonly child: ChildProcess | undefined;

  constructor(runDir: string) {
    try {
      this.child = spawn('/bin/sh', ['-c', WATCHDOG, 'ddprun-watchdog', runDir], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      this.child.on('error', () => undefined);
      this.child.stdin?.on('error', () => undefined);
      this.child.unref();
      (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      this.child = undefined;
    }
  }

  /** Records a rank's process group. */
  watch(pgid: number): void {
    this.child?.stdin?.write(`${pgid}\n`);
  }

  /** The groups watched so far are gone (an attempt ended): forget them, so their ids are never signalled later. */
  forget(): void {
    this.child?.stdin?.write('-\n');
  }

  /** Everything was torn down: let the watchdog exit without killing anything. */
  dispose(): void {
    if (this.child?.stdin && !this.child.stdin.destroyed) this.child.stdin.end('exit\n');
  }
}
