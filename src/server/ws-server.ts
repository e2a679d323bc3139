import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { hostAllowed, originAllowed, requestToken, resolvesToLoopbackOnly, tokenMatches, weakTokenReason } from './access.js';
import { ClientHub, type HubOptions } from './client-hub.js';
import type { HelloInfo, OutboundMessage, ServerMessage, Topic } from './messages.js';
import { serveHttp } from './static-files.js';

export interface ServerOptions extends HubOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest inbound frame accepted, bytes. */
  maxPayload: number;
  /** Required from every client (Bearer header or ?token=); mandatory when `host` is not loopback. */
  token?: string;
  /** Browser origins allowed besides the server's own ("*": any). */
  allowedOrigins: string[];
  /** Host names (the HTTP Host header) accepted besides address literals, localhost and `host` ("*": any). */
  allowedHosts: string[];
  /** Clients connected at once at most; further upgrades get 503. */
  maxClients: number;
}

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
  /** The clients of the session this server serves. */
  readonly hub: ClientHub;

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    options: ServerOptions,
    hello: () => HelloInfo,
  ) {
    this.hub = new ClientHub(options, hello);
    wss.on('connection', (ws) => this.hub.accept(ws));
    this.stallTimer = setInterval(() => this.hub.checkStalls(), 1000);
    this.stallTimer.unref();
  }
  static async start(options: Partial<ServerOptions>, hello: () => HelloInfo): Promise<BciServer> {
    const opts: ServerOptions = { ...DEFAULT_SERVER, ...options };
    const weak = opts.token !== undefined ? weakTokenReason(opts.token) : undefined;
    if (weak) throw new Error(`server token (server.token or NEURORX_TOKEN): ${weak}`);
    if (!opts.token && !(await resolvesToLoopbackOnly(opts.host))) {
      throw new Error(`server.host ${opts.host} is reachable from other machines: set server.token (or NEURORX_TOKEN) so that only your clients connect`);
    }
    const hostRefusal = (req: http.IncomingMessage): string | undefined =>
      hostAllowed(req, opts.host, opts.allowedHosts) ? undefined : `host ${JSON.stringify(req.headers.host)} is not allowed (DNS rebinding protection): add it to server.allowedHosts`;
    const server = http.createServer((req, res) => {
      const refused = hostRefusal(req);
      if (refused) res.writeHead(403, { 'content-type': 'text/plain' }).end(`${refused}\n`);
      else void serveHttp(req, res);
    });
    const clientCount = (): number => wss.clients.size;
    const wss = new WebSocketServer({
      server,
      maxPayload: opts.maxPayload,
      verifyClient: (info, done) => {
        // Everything here reads what an unauthenticated client sent: nothing may throw.
        try {
          const refused = hostRefusal(info.req);
          if (refused) return done(false, 403, refused);
          if (opts.token && !tokenMatches(opts.token, requestToken(info.req))) return done(false, 401, 'a valid token is required');
          if (clientCount() >= opts.maxClients) return done(false, 503, `${opts.maxClients} clients are connected: no room for another (server.maxClients)`);
          if (!originAllowed(info.req, opts.allowedOrigins)) return done(false, 403, `origin ${JSON.stringify(info.origin).slice(0, 200)} is not allowed (server.allowedOrigins)`);
          done(true);
        } catch {
          done(false, 400, 'bad request');
        }
      },
    });
    // ws re-emits the HTTP server's errors on itself: without a listener EADDRINUSE would be thrown
    // as an unhandled 'error' event (with a stack trace) instead of the message below.
    wss.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.host} is already in use (set server.port)` : e.message)));
      server.listen(opts.port, opts.host, () => resolve());
    });
    return new BciServer(server, wss, opts, hello);
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): { host: string; port: number; url: string } {
    const a = this.http.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `ws://${host}:${a.port}` };
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
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // Browsers keep idle HTTP connections open (preconnects, keep-alive): do not wait for them.
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
