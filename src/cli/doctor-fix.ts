import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { which } from '../os/which.js';
import { shellQuote } from '../slurm/shell-quote.js';

/** What `doctor --fix` knows about the machine when choosing how to install PyTorch. */
export interface Machine {
  platform: NodeJS.Platform;
  /** Contents of /etc/os-release ('' when absent). */
  osRelease: string;
  isRoot: boolean;
  has: (command: string) => boolean;
}

export interface TorchInstall {
  /** The command to run, or undefined when ddprun can only print it. */
  command: string[] | undefined;
  /** What a person should type. */
  shown: string;
  /** Whether it goes through apt-get (so `apt-get update` may be needed first). */
  apt: boolean;
}

function osField(osRelease: string, key: string): string {
  const match = new RegExp(`^${key}=(.*)$`, 'm').exec(osRelease);
  return (match?.[1] ?? '').replace(/^["']|["']$/g, '').toLowerCase();
}

/** How to install PyTorch here: apt-get on Debian/Ubuntu (as root, or through sudo); elsewhere a command to print. */
export function torchInstallPlan(machine: Machine): TorchInstall {
  const ids = `${osField(machine.osRelease, 'ID')} ${osField(machine.osRelease, 'ID_LIKE')}`;
  const show = (argv: string[]) => argv.map(shellQuote).join(' ');
  if (machine.platform === 'linux' && /\b(debian|ubuntu)\b/.test(ids) && machine.has('apt-get')) {
    const base = ['apt-get', 'install', '-y', 'python3-torch'];
    if (machine.isRoot) return { command: base, shown: show(base), apt: true };
    if (machine.has('sudo')) return { command: ['sudo', ...base], shown: show(['sudo', ...base]), apt: true };
    return { command: undefined, shown: `${show(base)}  (as root)`, apt: true };
  }
  if (machine.platform === 'linux' && /\bfedora\b/.test(ids))
    return { command: undefined, shown: 'sudo dnf install -y python3-torch', apt: false };
  if (machine.platform === 'linux' && /\barch\b/.test(ids))
    return { command: undefined, shown: 'sudo pacman -S --noconfirm python-pytorch', apt: false };
  return { command: undefined, shown: 'python3 -m pip install torch', apt: false };
}

/** This machine, as `torchInstallPlan` needs it. */
export function thisMachine(): Machine {
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    // Not Linux, or a minimal image: handled as "elsewhere".
  }
  return {
    platform: process.platform,
    osRelease,
    isRoot: process.getuid?.() === 0,
    has: (command: string) => which(command) !== undefined,
  };
}

function aptListsEmpty(): boolean {
  try {
    return !readdirSync('/var/lib/apt/lists').some((name) => name.endsWith('_Packages') || name.includes('_Packages.'));
  } catch {
    return true;
  }
}

/** Runs the install (apt-get update first when the lists are empty, or once more after a failed install). */
export function installTorch(install: TorchInstall, log: (line: string) => void): boolean {
  if (!install.command) {
    log(`PyTorch is missing. Install it with:\n  ${install.shown}`);
    return false;
  }
  const [file, ...args] = install.command as [string, ...string[]];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const sudo = file === 'sudo' ? ['sudo'] : [];
  const update = () => {
    const argv = [...sudo, 'apt-get', 'update'];
    log(`running: ${argv.join(' ')}`);
    return spawnSync(argv[0] as string, argv.slice(1), { stdio: 'inherit', env }).status === 0;
  };
  if (install.apt && aptListsEmpty()) update();
  log(`running: ${install.shown}`);
  if (spawnSync(file, args, { stdio: 'inherit', env }).status === 0) return true;
  if (!install.apt || !update()) return false;
  log(`running: ${install.shown}`);
  return spawnSync(file, args, { stdio: 'inherit', env }).status === 0;
}
