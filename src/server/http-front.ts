import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { hostAllowed, originAllowed, requestToken, resolvesToLoopbackOnly, tokenMatches, weakTokenReason } from './access.js';

/** Who may reach a server and how much they may send: the part every neurorx HTTP/WebSocket server shares. */
export interface AccessOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest inbound frame accepted, bytes. */
  maxPayload: number;
  /** Required from every WebSocket client (Bearer header or ?token=); mandatory when `host` is not loopback. */
  token?: string;
  /** Browser origins allowed besides the server's own ("*": any). */
  allowedOrigins: string[];
  /** Host names (the HTTP Host header) accepted besides address literals, localhost and `host` ("*": any). */
  allowedHosts: string[];
  /** WebSocket clients connected at once at most (over every path); further upgrades get 503. */
  maxClients: number;
}

/** What the server behind the front does with a request that passed the access checks. */
export interface FrontHandlers {
  /** Any HTTP request whose Host is allowed (the token is the handler's business: static pages need none). */
  http(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Why an upgrade that passed the access checks is refused anyway (an unknown path or session), or undefined. */
  refuseUpgrade?(req: http.IncomingMessage): { code: number; reason: string } | undefined;
  /** A WebSocket client that passed every check. */
  connection(ws: WebSocket, req: http.IncomingMessage): void;
}

/** How to tell the user which setting to change in the errors of `HttpFront.listen`. */
export interface SettingNames {
  token: string;
  host: string;
  port: string;
}

const CONFIG_SETTINGS: SettingNames = { token: 'server.token', host: 'server.host', port: 'server.port' };

/**
 * One HTTP port with WebSocket upgrades, and the access rules of issue 15: a token when not on
 * loopback, the Host header checked against DNS rebinding, the Origin of browsers checked on
 * upgrades, a bound on clients and on frame size. BciServer (one session) and MultiSessionServer
 * (many) both sit behind one.
 */
export class HttpFront {
  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    readonly options: AccessOptions,
  ) {}

  static async listen(options: AccessOptions, handlers: FrontHandlers, names: SettingNames = CONFIG_SETTINGS): Promise<HttpFront> {
    const opts = options;
    const weak = opts.token !== undefined ? weakTokenReason(opts.token) : undefined;
    if (weak) throw new Error(`server token (${names.token} or NEURORX_TOKEN): ${weak}`);
    if (!opts.token && !(await resolvesToLoopbackOnly(opts.host))) {
      throw new Error(`${names.host} ${opts.host} is reachable from other machines: set ${names.token} (or NEURORX_TOKEN) so that only your clients connect`);
    }
    const hostRefusal = (req: http.IncomingMessage): string | undefined =>
      hostAllowed(req, opts.host, opts.allowedHosts) ? undefined : `host ${JSON.stringify(req.headers.host)} is not allowed (DNS rebinding protection): add it to server.allowedHosts`;
    const server = http.createServer((req, res) => {
      const refused = hostRefusal(req);
      if (refused) res.writeHead(403, { 'content-type': 'text/plain' }).end(`${refused}\n`);
      else handlers.http(req, res);
    });
    const wss = new WebSocketServer({
      server,
      maxPayload: opts.maxPayload,
      verifyClient: (info, done) => {
        // Everything here reads what an unauthenticated client sent: nothing may throw.
        try {
          const refused = hostRefusal(info.req);
          if (refused) return done(false, 403, refused);
          if (opts.token && !tokenMatches(opts.token, requestToken(info.req))) return done(false, 401, 'a valid token is required');
          if (wss.clients.size >= opts.maxClients) return done(false, 503, `${opts.maxClients} clients are connected: no room for another (server.maxClients)`);
          if (!originAllowed(info.req, opts.allowedOrigins)) return done(false, 403, `origin ${JSON.stringify(info.origin).slice(0, 200)} is not allowed (server.allowedOrigins)`);
          const other = handlers.refuseUpgrade?.(info.req);
          if (other) return done(false, other.code, other.reason);
          done(true);
        } catch {
          done(false, 400, 'bad request');
        }
      },
    });
    wss.on('connection', (ws, req) => handlers.connection(ws, req));
    // ws re-emits the HTTP server's errors on itself: without a listener EADDRINUSE would be thrown
    // as an unhandled 'error' event (with a stack trace) instead of the message below.
    wss.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.host} is already in use (set ${names.port})` : e.message)));
      server.listen(opts.port, opts.host, () => resolve());
    });
    return new HttpFront(server, wss, opts);
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): { host: string; port: number; url: string } {
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `ws://${host}:${a.port}` };
  }

  /** WebSocket clients connected, over every path. */
  get clientCount(): number {
    return this.wss.clients.size;
  }

  /** Stops listening; the caller closed its clients first (with its own reasons). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // Browsers keep idle HTTP connections open (preconnects, keep-alive): do not wait for them.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
