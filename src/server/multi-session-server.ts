import type http from 'node:http';
import type { WebSocket } from 'ws';
import type { HostedSession } from '../host/hosted-session.js';
import { ClientHub } from './client-hub.js';
import { HttpFront, type SettingNames } from './http-front.js';
import { serveHttp, servePage } from './static-files.js';
import { DEFAULT_SERVER, type ServerOptions } from './ws-server.js';

export interface MultiSessionOptions extends Omit<ServerOptions, 'topics' | 'catchUp' | 'onClientMessage'> {
  /** Clients of one session at most (`maxClients` bounds them over all sessions); further upgrades get 503. */
  maxClientsPerSession: number;
}

export const DEFAULT_MULTI_SESSION: MultiSessionOptions = { ...DEFAULT_SERVER, maxClientsPerSession: DEFAULT_SERVER.maxClients };

/**
 * Handles an HTTP request before the server's own routes (an API); returns false to pass it on.
 * Runs after the Host check, before anything else: its own access rules are its business.
 */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Close code and reason for the clients of a session that is removed. */
const GOING_AWAY = 1001;

/** `/sessions/<id>` (WebSocket) or `/sessions/<id>/...` (its pages): the id, or undefined. */
const SESSION_PATH = /^\/sessions\/([^/?]*)(\/?)(.*)$/;

interface Served {
  readonly session: HostedSession;
  readonly hub: ClientHub;
  readonly detach: () => void;
}

/** The path of a request target without its query. */
const pathOf = (req: http.IncomingMessage): string => (req.url ?? '/').split('?')[0];

/**
 * One HTTP/WebSocket port for many sessions, by id: protocol v2 WebSockets at `/sessions/<id>`,
 * the session's dashboard at `/sessions/<id>/`, an overview of all sessions at `/`, the static
 * assets as BciServer serves them, and whatever `routes` add (the host's API). Each session added
 * gets a ClientHub, attached to it as a message sink. Independent of where the sessions run
 * (worker threads of this machine, or the bus for a gateway): it only sees HostedSession.
 */
export class MultiSessionServer {
  private readonly sessions = new Map<string, Served>();
  private readonly routes: HttpRoute[] = [];
  private readonly stallTimer: NodeJS.Timeout;
  private front!: HttpFront;

  private constructor(private readonly options: MultiSessionOptions) {
    this.stallTimer = setInterval(() => {
      for (const s of this.sessions.values()) s.hub.checkStalls();
    }, 1000);
    this.stallTimer.unref();
  }

  static async start(options: Partial<MultiSessionOptions>, routes: readonly HttpRoute[] = [], names?: SettingNames): Promise<MultiSessionServer> {
    const server = new MultiSessionServer({ ...DEFAULT_MULTI_SESSION, ...options });
    server.routes.push(...routes);
    try {
      server.front = await HttpFront.listen(
        server.options,
        {
          http: (req, res) => {
            for (const route of server.routes) if (route(req, res)) return;
            void server.serveHttp(req, res);
          },
          refuseUpgrade: (req) => server.refuseUpgrade(req),
          connection: (ws, req) => server.connect(ws, req),
        },
        names,
      );
    } catch (e) {
      clearInterval(server.stallTimer);
      throw e;
    }
    return server;
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): { host: string; port: number; url: string } {
    return this.front.address;
  }

  /** WebSocket clients over all sessions. */
  get clientCount(): number {
    return this.front.clientCount;
  }

  /** Adds a route tried before the server's own (after those given to start). */
  use(route: HttpRoute): void {
    this.routes.push(route);
  }

  /** The ids served. */
  ids(): string[] {
    return [...this.sessions.keys()];
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Clients of one session (0 when it is not served). */
  clientsOf(id: string): number {
    return this.sessions.get(id)?.hub.clientCount ?? 0;
  }

  /** Serves `session` at `/sessions/<id>`; throws when the id is taken. */
  add(session: HostedSession): void {
    if (this.sessions.has(session.id)) throw new Error(`session "${session.id}" is already served`);
    const hub = new ClientHub(
      {
        ...this.options,
        topics: session.topics,
        catchUp: () => session.catchUp(),
        onClientMessage: (m) => session.control(m),
      },
      () => session.hello(),
    );
    const detach = session.attach(hub);
    this.sessions.set(session.id, { session, hub, detach });
  }

  /** Stops serving a session: its clients are closed (1001) with `reason`. False when it was not served. */
  remove(id: string, reason = `session "${id}" was stopped`): boolean {
    const served = this.sessions.get(id);
    if (!served) return false;
    this.sessions.delete(id);
    served.detach();
    served.hub.closeAll(GOING_AWAY, reason.slice(0, 120));
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.stallTimer);
    for (const id of [...this.sessions.keys()]) this.remove(id, 'the server is shutting down');
    await this.front.close();
  }

  private refuseUpgrade(req: http.IncomingMessage): { code: number; reason: string } | undefined {
    const m = SESSION_PATH.exec(pathOf(req));
    if (!m || m[3] !== '') return { code: 404, reason: 'no session at this path: connect to /sessions/<id>' };
    const served = this.sessions.get(decodeId(m[1]));
    if (!served) return { code: 404, reason: `no session "${decodeId(m[1]).slice(0, 64)}"` };
    if (served.hub.clientCount >= this.options.maxClientsPerSession) {
      return { code: 503, reason: `session "${served.session.id}" has ${this.options.maxClientsPerSession} clients: no room for another` };
    }
    return undefined;
  }

  private connect(ws: WebSocket, req: http.IncomingMessage): void {
    const m = SESSION_PATH.exec(pathOf(req));
    const served = m ? this.sessions.get(decodeId(m[1])) : undefined;
    // Removed between the checks and the handshake's end.
    if (!served) return void ws.close(GOING_AWAY, 'the session was stopped');
    served.hub.accept(ws);
  }

  private async serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = pathOf(req);
    if (url === '/' || url === '/index.html') return servePage(req, res, 'overview');
    const m = SESSION_PATH.exec(url);
    if (!m) return serveHttp(req, res);
    const id = decodeId(m[1]);
    if (!this.sessions.has(id)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no session "${id.slice(0, 64)}"\n`);
      return;
    }
    if (m[2] === '') {
      // The dashboard's relative links (and its idea of its session) need the trailing slash.
      const q = (req.url ?? '').indexOf('?');
      res.writeHead(308, { location: `/sessions/${encodeURIComponent(id)}/${q >= 0 ? (req.url ?? '').slice(q) : ''}` }).end();
      return;
    }
    if (m[3] === '' || m[3] === 'index.html') return servePage(req, res, 'dashboard');
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
