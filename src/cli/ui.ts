import { spawn } from 'node:child_process';
import { isLoopbackHost, startDashboard, type Dashboard } from '../ui/server.js';
import { which } from '../os/which.js';
import { listDashboards, registerDashboard } from '../store/dashboards.js';
import { stateDir } from '../store/paths.js';
import type { Io } from './io.js';
import { EXIT_OK } from '../exit-codes.js';

/** The dashboard's port unless --port says otherwise; when taken, the next ones, then any free port (as Jupyter). */
export const DEFAULT_UI_PORT = 8765;
const PORT_TRIES = 10;

export async function listenDashboard(options: { port: number | undefined; host: string }): Promise<Dashboard> {
  if (options.port !== undefined) return startDashboard({ port: options.port, host: options.host });
  for (let i = 0; i < PORT_TRIES; i++) {
    try {
      return await startDashboard({ port: DEFAULT_UI_PORT + i, host: options.host });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  return startDashboard({ port: 0, host: options.host });
}

/** Announces a dashboard on stderr (stdout stays the run's or the caller's), with a warning off loopback. */
export function announceDashboard(dashboard: Dashboard, host: string, io: Pick<Io, 'stderr'>): void {
  if (!isLoopbackHost(host))
    io.stderr.write(
      `ddprun: warning: listening on ${host}, reachable from the network; anyone with the URL's token can see and stop runs.\n`,
    );
  io.stderr.write(`ddprun ui: dashboard at ${dashboard.url}\n`);
}

/** `ddprun --ui …`: the dashboard on loopback for the length of a launch, announced on stderr. */
export async function startLaunchDashboard(io: Pick<Io, 'stderr'>): Promise<Dashboard> {
  const dashboard = await listenDashboard({ port: undefined, host: '127.0.0.1' });
  announceDashboard(dashboard, '127.0.0.1', io);
  return findable(dashboard, '127.0.0.1', 'launch');
}

/** Records the dashboard in the private state dir while it serves (`ddprun ui --status`, `ddprun ps` find it). */
function findable(dashboard: Dashboard, host: string, source: 'ui' | 'launch'): Dashboard {
  const unregister = registerDashboard(stateDir(), { url: dashboard.url, host, source });
  return {
    url: dashboard.url,
    token: dashboard.token,
    close: async () => {
      unregister();
      await dashboard.close();
    },
  };
}

/** The serving dashboards, one a line: `<url>  (ddprun ui, pid N, since <time>)`; '' when none. */
export function dashboardLines(): string {
  return listDashboards(stateDir())
    .map((d) => {
      const by = d.source === 'ui' ? 'ddprun ui' : 'a launch with --ui';
      return `${d.url}  (${by}, pid ${d.server.pid} on ${d.server.host}, since ${d.startedAt})\n`;
    })
    .join('');
}

/** `ddprun ui`: serves the dashboard until SIGINT/SIGTERM/SIGHUP, then exits 0. */
export async function runUi(
  command: { port: number | undefined; host: string; open: boolean; status: boolean },
  io: Io,
): Promise<number> {
  if (command.status) {
    const lines = dashboardLines();
    if (lines) io.stdout.write(lines);
    else io.stderr.write('No dashboard is serving. `ddprun ui` starts one.\n');
    return EXIT_OK;
  }
  const dashboard = findable(await listenDashboard(command), command.host, 'ui');
  announceDashboard(dashboard, command.host, io);
  io.stdout.write(`${dashboard.url}\n`);
  if (command.open) {
    const opener = which('xdg-open', { envPath: io.env.PATH });
    if (opener) spawn(opener, [dashboard.url], { stdio: 'ignore', detached: true }).unref();
    else io.stderr.write('ddprun ui: --open: no xdg-open here; open the URL yourself.\n');
  }
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
  });
  await dashboard.close();
  return EXIT_OK;
}
