import type http from 'node:http';
import type { Push } from './push.js';
import { HEADERS } from './respond.js';
import { listRunSummaries, type RunFiles } from './store-view.js';

/** How often a live view looks at the store's files for news. */
export const POLL_MS = 250;

/** The open event streams, each with the function that ends it (the server ends them all on close). */
export type Streams = Set<() => void>;

/**
 * Answers with a server-sent event stream and calls `tick` every POLL_MS (never two at once) until the client leaves.
 */
function openStream(
  streams: Streams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  tick: (push: Push) => Promise<void>,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...HEADERS });
  const push: Push = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let busy = false;
  const run = (): void => {
    if (busy) return;
    busy = true;
    tick(push)
      .catch(() => undefined) // a half-written or vanished file is read again next time
      .finally(() => (busy = false));
  };
  const timer = setInterval(run, POLL_MS);
  const stop = (): void => {
    clearInterval(timer);
    streams.delete(stop);
    res.end();
  };
  streams.add(stop);
  req.on('close', stop);
  run();
}

/** `/api/stream`: the list of runs, pushed whenever it changes. */
export function streamRuns(
  streams: Streams,
  files: RunFiles,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  let last = '';
  openStream(streams, req, res, async (push) => {
    const runs = JSON.stringify(await listRunSummaries(files));
    if (runs !== last) push('runs', JSON.parse(runs));
    last = runs;
  });
}

/** `/api/runs/<id>/stream`: one run's news (state, events, new log lines). */
export function streamRun(
  streams: Streams,
  files: RunFiles,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  id: string,
): void {
  const follower = files.follow(id);
  openStream(streams, req, res, (push) => follower.tick(push));
}
