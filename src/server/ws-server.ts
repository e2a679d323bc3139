import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { projectPath } from '../util/project-path.js';
import { ClientChannel, type ChannelLimits } from './client-channel.js';
import { messageJsonSchemas, parseClientMessage, type ClientMessage, type HelloMessage, type ServerMessage } from './messages.js';

export interface ServerOptions extends ChannelLimits {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest inbound frame accepted, bytes. */
  maxPayload: number;
  /** Handles valid client messages other than ping; a thrown error is sent back to that client. */
  onClientMessage?: (message: ClientMessage) => void;
}

export const DEFAULT_SERVER: ServerOptions = {
  host: '127.0.0.1',
  port: 8765,
  maxPayload: 64 * 1024,
  maxInFlight: 64,
  maxQueue: 256,
  stallTimeoutMs: 10_000,
};

/**
 * HTTP + WebSocket on one port: the dashboard at /, the protocol's JSON Schemas at /schema.json,
 * and the message stream on any WebSocket upgrade. Broadcasting is synchronous and never waits
 * for a client (see ClientChannel for the drop policy).
 */
export class BciServer {
  private readonly channels = new Map<WebSocket, ClientChannel>();
  private readonly stallTimer: NodeJS.Timeout;

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    private readonly options: ServerOptions,
    private readonly hello: () => HelloMessage,
  ) {
    wss.on('connection', (ws) => this.accept(ws));
    this.stallTimer = setInterval(() => {
      for (const ch of this.channels.values()) ch.checkStall();
    }, 1000);
    this.stallTimer.unref();
  }

  static async start(options: Partial<ServerOptions>, hello: () => HelloMessage): Promise<BciServer> {
    const opts = { ...DEFAULT_SERVER, ...options };
    const server = http.createServer((req, res) => void serveHttp(req, res));
    const wss = new WebSocketServer({ server, maxPayload: opts.maxPayload });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.host} is already in use (set server.port)` : e.message)),
      );
      server.listen(opts.port, opts.host, () => resolve());
    });
    return new BciServer(server, wss, opts, hello);
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): { host: string; port: number; url: string } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port, url: `ws://${a.address}:${a.port}` };
  }

  get clientCount(): number {
    return this.channels.size;
  }

  /** Sends a message to every connected client. */
  broadcast(message: ServerMessage): void {
    if (this.channels.size === 0) return;
    const frame = JSON.stringify(message);
    for (const ch of this.channels.values()) ch.send(frame);
  }

  async close(): Promise<void> {
    clearInterval(this.stallTimer);
    for (const ws of this.channels.keys()) ws.terminate();
    this.channels.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const channel = new ClientChannel(ws, this.options);
    this.channels.set(ws, channel);
    ws.on('close', () => this.channels.delete(ws));
    ws.on('error', () => this.channels.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        channel.send(JSON.stringify({ type: 'error', message: 'binary frames are not accepted; send JSON text' }));
        return;
      }
      const msg = parseClientMessage(data.toString());
      if (msg.type === 'ping') channel.send(JSON.stringify({ type: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}) }));
      else if (msg.type === 'error') channel.send(JSON.stringify(msg));
      else {
        try {
          if (!this.options.onClientMessage) throw new Error(`"${msg.type}" messages are not handled by this server`);
          this.options.onClientMessage(msg);
        } catch (e) {
          channel.send(JSON.stringify({ type: 'error', message: (e as Error).message }));
        }
      }
    });
    channel.send(JSON.stringify(this.hello()));
  }
}

async function serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = (req.url ?? '/').split('?')[0];
  try {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (url === '/' || url === '/index.html') {
      const html = await readFile(projectPath('src', 'server', 'dashboard', 'index.html'));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(html);
    } else if (url === '/schema.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(messageJsonSchemas(), null, 2));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`server error: ${(e as Error).message}\n`);
  }
}
