import type http from 'node:http';
import type { Push } from './push.js';
import { HEADERS, json } from './respond.js';
import type { FeedSource } from './run-feed.js';

/** How often a live view looks at the store's files for news. */
export const POLL_MS = 250;
/** Live views (event streams) served at once, by default; one more is refused with 503. */
export const MAX_CLIENTS = 256;
/**
 * A client with this much not yet taken off its socket (it reads slower than the run writes) is dropped rather than
 * buffered for without end; its browser reconnects and starts again from the newest state.
 */
const MAX_BUFFERED = 16 * 1024 * 1024;

type Client = http.ServerResponse;

/** One SSE frame, serialised once for every client it goes to. */
const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function send(client: Client, text: string): void {
  if (client.destroyed) return;
  if (client.writableLength > MAX_BUFFERED) client.destroy();
  else client.write(text);
}

/**
 * One live view shared by all its clients: one poll of the store's files every POLL_MS (never two at once), whatever
 * the number of clients. A client that comes gets the source's snapshot, then the news after it.
 */
class Feed {
  private readonly live = new Set<Client>();
  private readonly joining = new Set<Client>();
  /** Clients being sent the snapshot (they get news from the next tick on). */
  private readonly catching = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private again = false;

  constructor(
    private readonly source: FeedSource,
    private readonly idle: () => void,
  ) {}

  get size(): number {
    return this.live.size + this.joining.size + this.catching.size;
  }

  add(client: Client): void {
    this.joining.add(client);
    this.timer ??= setInterval(() => this.poll(false), POLL_MS);
    this.poll(true);
  }

  remove(client: Client): void {
    this.live.delete(client);
    this.joining.delete(client);
    this.catching.delete(client);
    if (this.size === 0) this.stop();
  }

  /** Ends every client (the server is closing). */
  end(): void {
    for (const client of [...this.live, ...this.joining, ...this.catching]) client.end();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.idle();
  }

  /** A tick now, or (a client came while one runs) right after it. */
  private poll(joined: boolean): void {
    if (this.busy) {
      this.again ||= joined;
      return;
    }
    this.busy = true;
    this.again = false;
    this.step()
      .catch(() => undefined) // a half-written or vanished file is read again next time
      .finally(() => {
        this.busy = false;
        if (this.again && this.timer) this.poll(false);
      });
  }

  private async step(): Promise<void> {
    await this.source.tick(this.pushTo(this.live));
    if (!this.joining.size) return;
    for (const client of this.joining) this.catching.add(client);
    this.joining.clear();
    await this.source.snapshot(this.pushTo(this.catching));
    for (const client of this.catching) this.live.add(client);
    this.catching.clear();
  }

  private pushTo(clients: Set<Client>): Push {
    return (event, data) => {
      if (!clients.size) return;
      const text = frame(event, data);
      for (const client of clients) send(client, text);
    };
  }
}

/** The server's live views, one Feed per key (a run, or the list of runs), and the bound on their clients. */
export class Feeds {
  private readonly feeds = new Map<string, Feed>();
  private clients = 0;

  constructor(private readonly maxClients: number) {}

  /** Answers with the event stream of `key` (the feed made by `make` if none is open), or 503 past the bound. */
  open(key: string, make: () => FeedSource, res: Client): void {
    if (this.clients >= this.maxClients) {
      res.setHeader('retry-after', '10');
      return json(res, 503, {
        error: `the dashboard already serves ${this.maxClients} live views (its bound); close some of its tabs or try again later`,
      });
    }
    this.clients++;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...HEADERS });
    res.flushHeaders();
    let feed = this.feeds.get(key);
    if (!feed) {
      const made: Feed = new Feed(make(), () => {
        if (this.feeds.get(key) === made) this.feeds.delete(key);
      });
      this.feeds.set(key, made);
      feed = made;
    }
    const joined = feed;
    res.on('close', () => {
      this.clients--;
      joined.remove(res);
    });
    joined.add(res);
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const feed of [...this.feeds.values()]) feed.end();
  }
}
