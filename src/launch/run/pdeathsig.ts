import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { which } from '../../os/which.js';

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
    if (setpriv && supportsPdeathsig(setpriv)) wrapper = [setpriv, '--pdeathsig', 'KILL', '--'];
  }
  return wrapper;
}

/**
 * Whether this setpriv has `--pdeathsig` (util-linux ≥ 2.33; busybox's has not): its help text, which names every
 * option, is in the file. Read (≈ 0.1 ms) rather than run with `--help` (a fork of this process and an exec, a few ms
 * before the first rank can start); run only when the file cannot be read.
 */
function supportsPdeathsig(setpriv: string): boolean {
  try {
    // A multi-call binary (busybox, toybox) holds every applet's strings: only its own help says.
    if (!/box$/.test(path.basename(realpathSync(setpriv)))) return readFileSync(setpriv).includes('--pdeathsig');
  } catch {
    // unreadable: ask it
  }
  return Boolean(spawnSync(setpriv, ['--help'], { encoding: 'utf8', timeout: 5000 }).stdout?.includes('--pdeathsig'));
}

// The watchdog reads lines from ddprun: `<pgid>:<leader start time>` (a rank's group), `-` (forget the groups read so
// far), `f<path>` (a file to remove: the trainer entry file), `exit` (end quietly). On EOF (ddprun is gone, however it
// died: SIGKILL, or a fatal signal that runs no exit hook) it SIGKILLs, with no trust in bare pids:
// - each group whose leader still runs with the recorded start time (the pid was not reused);
// - each process whose environment carries the run's mark (`=<run folder>/`, see runMark), and its group: the
//   ranks' children, wherever their leader went;
// then removes the run folder ($1) and the entry file, which no `finally` of ddprun's will. `shift` is guarded because
// a failing special built-in ends a non-interactive sh.
const WATCHDOG = `g=""; f=""
while IFS= read -r l; do case "$l" in exit) exit 0;; -) g="";; f/*) f="\${l#f}";; *) g="$g $l";; esac; done
st() { s=""; read -r s < "/proc/$1/stat" 2>/dev/null || return 1; s="\${s##*") "}"; set -- $s; [ $# -ge 20 ] || return 1; pg=$3; shift 19; t=$1; }
for e in $g; do p="\${e%%:*}"; if st "$p" && [ "$t" = "\${e#*:}" ]; then kill -s KILL -- "-$p" 2>/dev/null; fi; done
if [ -n "$1" ]; then
  for e in $(grep -lzF -e "=$1/" /proc/[0-9]*/environ 2>/dev/null); do
    p="\${e#/proc/}"; p="\${p%/environ}"; if st "$p" && [ "$pg" -gt 1 ]; then kill -s KILL -- "-$pg" "$p" 2>/dev/null; fi
  done
  rm -rf -- "$1"
fi
[ -n "$f" ] && rm -f -- "$f"
exit 0`;

/** How many times a watchdog that died (someone SIGKILLed it) is replaced within one launch. */
const MAX_RESPAWNS = 20;

/**
 * A tiny `sh` that outlives ddprun just long enough to kill what ddprun leaves behind, and remove `runDir` and the
 * entry file. One SIGKILL cannot disarm the guard: when the watchdog dies while ddprun lives, ddprun starts another
 * and tells it everything again; when ddprun dies, the watchdog acts (and `setpriv`'s parent-death signal too).
 */
export class Watchdog {
  private child: ChildProcess | undefined;
  /** Every line the watchdog must know, replayed to a replacement. */
  private lines: string[] = [];
  private disposed = false;
  private respawns = 0;

  constructor(private readonly runDir: string) {
    this.spawn();
  }

  /** The watchdog's pid (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private spawn(): void {
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WATCHDOG, 'ddprun-watchdog', this.runDir], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    } catch {
      this.child = undefined;
      return;
    }
    this.child = child;
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.once('exit', () => {
      if (this.disposed || this.child !== child || child.pid === undefined) return;
      if (++this.respawns > MAX_RESPAWNS) return;
      this.spawn();
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    if (this.lines.length) child.stdin?.write(this.lines.join(''));
  }

  private send(line: string): void {
    this.lines.push(line);
    this.child?.stdin?.write(line);
  }

  /** Records a rank's process group, with its leader's start time when known (identifies the leader). */
  watch(pgid: number, leaderStart?: number): void {
    this.send(`${pgid}:${leaderStart ?? '?'}\n`);
  }

  /** A file the watchdog removes if ddprun dies without removing it (the trainer entry file); absolute, one line. */
  removeOnDeath(file: string): void {
    if (path.isAbsolute(file) && !/[\n\r]/.test(file)) this.send(`f${file}\n`);
  }

  /** The groups watched so far are gone (an attempt ended): forget them, so their ids are never signalled later. */
  forget(): void {
    this.lines = this.lines.filter((l) => l.startsWith('f'));
    this.child?.stdin?.write('-\n');
  }

  /** Everything was torn down: let the watchdog exit without killing anything. */
  dispose(): void {
    this.disposed = true;
    if (this.child?.stdin && !this.child.stdin.destroyed) this.child.stdin.end('exit\n');
  }
}
