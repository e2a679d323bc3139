import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { hostAllowed, originAllowed, requestToken, resolvesToLoopbackOnly, tokenMatches, weakTokenReason } from './access.js';
import { ClientChannel, type ChannelLimits } from './client-channel.js';
import { defaultTopics, parseClientMessage, PROTOCOL_VERSION, topicOf, TOPICS, type ClientMessage, type HelloInfo, type OutboundMessage, type ServerMessage, type Topic } from './messages.js';
import { RateLimiter } from './rate-limiter.js';
import { serveHttp } from './static-files.js';
import { wsText } from './ws-text.js';

export interface ServerOptions extends ChannelLimits {
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
  /** Inbound messages per second per client, and the burst allowed; beyond it the client is closed (1008). */
  rateLimit: { perSecond: number; burst: number };
  /** Messages a new client gets right after its hello (what it missed that it must know, such as the source's losses so far). */
  catchUp?: () => readonly ServerMessage[];
  /** Every topic offered (default: the built-in ones); a session adds its pipeline's message types. */
  topics?: readonly string[];
  /** Handles valid session-control messages (marker, calibration, pause, resume); a thrown error goes back to that client. */
  onClientMessage?: (message: ClientMessage) => void;
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

interface Client {
  channel: ClientChannel;
  topics: Set<Topic>;
  limiter: RateLimiter;
}

/**
 * HTTP + WebSocket on one port: the dashboard, game and client library over HTTP (static-files.ts)
 * and the message stream on WebSocket upgrades. Broadcasting is synchronous and never waits for a
 * client (see ClientChannel for the drop policy); each client gets the topics it subscribed to.
 * Safe to expose: a token when not on loopback, an origin check for browsers, frame size and
 * message rate limits.
 */
export class BciServer {
  private readonly clients = new Map<WebSocket, Client>();
  private readonly stallTimer: NodeJS.Timeout;
  private readonly topics: readonly string[];

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    private readonly options: ServerOptions,
    private readonly hello: () => HelloInfo,
  ) {
    this.topics = options.topics ?? TOPICS;
    wss.on('connection', (ws) => this.accept(ws));
    this.stallTimer = setInterval(() => {
      for (const c of this.clients.values()) c.channel.checkStall();
    }, 1000);
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
    return this.clients.size;
  }

  /** Messages dropped so far for slow clients, summed. */
  get dropped(): number {
    let n = 0;
    for (const c of this.clients.values()) n += c.channel.dropped;
    return n;
  }

  /** Whether any client listens to `topic` (producers of costly topics check before working). */
  wants(topic: Topic): boolean {
    for (const c of this.clients.values()) if (c.topics.has(topic)) return true;
    return false;
  }

  /** Sends a message to every client subscribed to its topic (hello, error, pong: to all). */
  broadcast(message: OutboundMessage): void {
    if (this.clients.size === 0) return;
    const topic = topicOf(message.type);
    let frame: string | undefined;
    for (const c of this.clients.values()) {
      if (topic && !c.topics.has(topic)) continue;
      frame ??= JSON.stringify({ v: PROTOCOL_VERSION, ...message });
      c.channel.send(frame);
    }
  }

  /** Sends a per-client message built from that client's state (e.g. stats with its own drop count). */
  broadcastEach(topic: Topic, build: (dropped: number) => ServerMessage): void {
    for (const c of this.clients.values()) if (c.topics.has(topic)) c.channel.send(JSON.stringify({ v: PROTOCOL_VERSION, ...build(c.channel.dropped) }));
  }

  async close(): Promise<void> {
    clearInterval(this.stallTimer);
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // Browsers keep idle HTTP connections open (preconnects, keep-alive): do not wait for them.
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const client: Client = {
      channel: new ClientChannel(ws, this.options),
      topics: new Set(defaultTopics(this.topics)),
      limiter: new RateLimiter(this.options.rateLimit.perSecond, this.options.rateLimit.burst),
    };
    this.clients.set(ws, client);
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => this.clients.delete(ws));
    ws.on('message', (data, isBinary) => this.receive(client, wsText(data), isBinary));
    this.sendTo(client, { ...this.hello(), topics: [...this.topics], subscribed: [...client.topics] });
    for (const m of this.options.catchUp?.() ?? []) {
      const topic = topicOf(m.type);
      if (!topic || client.topics.has(topic)) this.sendTo(client, m);
    }
  }

  private receive(client: Client, raw: string, isBinary: boolean): void {
    if (!client.limiter.take()) {
      client.channel.close(1008, `message rate limit exceeded (${this.options.rateLimit.perSecond}/s, burst ${this.options.rateLimit.burst})`);
      return;
    }
    if (isBinary) return this.sendTo(client, { type: 'error', message: 'binary frames are not accepted; send JSON text' });
    const msg = parseClientMessage(raw);
    switch (msg.type) {
      case 'error':
        return this.sendTo(client, msg);
      case 'ping':
        return this.sendTo(client, { type: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}) });
      case 'subscribe':
      case 'unsubscribe': {
        const unknown = msg.topics.findIndex((t) => !this.topics.includes(t));
        if (unknown >= 0)
          return this.sendTo(client, {
            type: 'error',
            message: `invalid message at "topics.${unknown}": unknown topic "${msg.topics[unknown]}" (offered: ${this.topics.join(', ')})`,
            path: `topics.${unknown}`,
          });
        for (const t of msg.topics) {
          if (msg.type === 'subscribe') client.topics.add(t);
          else client.topics.delete(t);
        }
        return this.sendTo(client, { type: 'status', ...this.statusOf(), detail: `subscribed: ${[...client.topics].join(', ') || 'nothing'}`, subscribed: [...client.topics] });
      }
      default:
        try {
          if (!this.options.onClientMessage) throw new Error(`"${msg.type}" messages are not handled by this server`);
          this.options.onClientMessage(msg);
        } catch (e) {
          this.sendTo(client, { type: 'error', message: (e as Error).message });
        }
    }
  }

  private statusOf(): { state: HelloInfo['state'] } {
    return { state: this.hello().state };
  }

  private sendTo(client: Client, message: ServerMessage): void {
    client.channel.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
  }
}
