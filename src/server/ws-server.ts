import { HttpFront, type AccessOptions } from './http-front.js';
import { ClientHub, type HubOptions } from './client-hub.js';
import type { HelloInfo, OutboundMessage, ServerMessage, Topic } from './messages.js';
import { serveHttp } from './static-files.js';

export interface ServerOptions extends HubOptions, AccessOptions {}

export const DEFAULT_SERVER: ServerOptions = {
  host: '127.0.0.1',
  port: 8765,
  maxPayload: 64 * 1024,
  maxInFlight: 64,
  maxQueue: 256,
  stallTimeoutMs: 10_000,
  allowedOrigins: [],
  allowedHosts: [],
  maxClients: 1024,
  rateLimit: { perSecond: 50, burst: 100 },
};

/**
 * HTTP + WebSocket on one port for one session: the dashboard, game and client library over HTTP
 * (static-files.ts) and the session's message stream on WebSocket upgrades (its ClientHub).
 * Safe to expose: a token when not on loopback, an origin check for browsers, frame size and
 * message rate limits.
 */
export class BciServer {
  private readonly stallTimer: NodeJS.Timeout;

  private constructor(
    private readonly front: HttpFront,
    /** The clients of the session this server serves. */
    readonly hub: ClientHub,
  ) {
    this.stallTimer = setInterval(() => this.hub.checkStalls(), 1000);
    this.stallTimer.unref();
  }

  static async start(options: Partial<ServerOptions>, hello: () => HelloInfo): Promise<BciServer> {
    const opts: ServerOptions = { ...DEFAULT_SERVER, ...options };
    const hub = new ClientHub(opts, hello);
    const front = await HttpFront.listen(opts, { http: (req, res) => void serveHttp(req, res), connection: (ws) => hub.accept(ws) });
    return new BciServer(front, hub);
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): { host: string; port: number; url: string } {
    return this.front.address;
  }

  get clientCount(): number {
    return this.hub.clientCount;
  }

  /** Messages dropped so far for slow clients, summed. */
  get dropped(): number {
    return this.hub.dropped;
  }

  /** Whether any client listens to `topic` (producers of costly topics check before working). */
  wants(topic: Topic): boolean {
    return this.hub.wants(topic);
  }

  /** Sends a message to every client subscribed to its topic (hello, error, pong: to all). */
  broadcast(message: OutboundMessage): void {
    this.hub.broadcast(message);
  }

  /** Sends a per-client message built from that client's state (e.g. stats with its own drop count). */
  broadcastEach(topic: Topic, build: (dropped: number) => ServerMessage): void {
    this.hub.broadcastEach(topic, build);
  }

  async close(): Promise<void> {
    clearInterval(this.stallTimer);
    this.hub.closeAll();
    await this.front.close();
  }
}
