import type { WebSocket } from 'ws';
import { ClientChannel, type ChannelLimits } from './client-channel.js';
import { defaultTopics, parseClientMessage, PROTOCOL_VERSION, topicOf, TOPICS, type ClientMessage, type HelloInfo, type OutboundMessage, type ServerMessage, type Topic } from './messages.js';
import { RateLimiter } from './rate-limiter.js';
import { wsText } from './ws-text.js';

export interface HubOptions extends ChannelLimits {
  /** Inbound messages per second per client, and the burst allowed; beyond it the client is closed (1008). */
  rateLimit: { perSecond: number; burst: number };
  /** Messages a new client gets right after its hello (what it missed that it must know, such as the source's losses so far). */
  catchUp?: () => readonly ServerMessage[];
  /** Every topic offered (default: the built-in ones); a session adds its pipeline's message types. */
  topics?: readonly string[];
  /**
   * Handles valid session-control messages (marker, calibration, pause, resume). A thrown error,
   * or a rejected promise (a session in another thread or on another machine), goes back to that
   * client as an error message.
   */
  onClientMessage?: (message: ClientMessage) => unknown;
  /** The session's stream clock now (s), put in every pong so that pages can time their markers on it; undefined before the first sample. */
  streamTime?: () => number | undefined;
}

interface Client {
  channel: ClientChannel;
  topics: Set<Topic>;
  limiter: RateLimiter;
}

/**
 * The WebSocket clients of one session: their subscriptions, their outbound queues (see
 * ClientChannel for the drop policy) and what they send. Broadcasting is synchronous and never
 * waits for a client. A server with one session has one hub; a host or a gateway has one per
 * session, behind one HTTP port.
 */
export class ClientHub {
  private readonly clients = new Map<WebSocket, Client>();
  readonly topics: readonly string[];

  constructor(
    private readonly options: HubOptions,
    private readonly hello: () => HelloInfo,
  ) {
    this.topics = options.topics ?? TOPICS;
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

  /** The topics some client listens to. */
  wanted(): Set<Topic> {
    const out = new Set<Topic>();
    for (const c of this.clients.values()) for (const t of c.topics) out.add(t);
    return out;
  }

  /** Sends a message to every client subscribed to its topic (hello, error, pong: to all). */
  broadcast(message: OutboundMessage): void {
    if (this.clients.size === 0) return;
    this.broadcastFrame(message.type, () => JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
  }

  /** Sends an already serialised message of `type` (a session elsewhere serialised it once for every hub). */
  broadcastFrame(type: string, frame: string | (() => string)): void {
    if (this.clients.size === 0) return;
    const topic = topicOf(type);
    let text: string | undefined;
    for (const c of this.clients.values()) {
      if (topic && !c.topics.has(topic)) continue;
      text ??= typeof frame === 'string' ? frame : frame();
      c.channel.send(text);
    }
  }

  /** Sends a per-client message built from that client's state (e.g. stats with its own drop count). */
  broadcastEach(topic: Topic, build: (dropped: number) => ServerMessage): void {
    for (const c of this.clients.values()) if (c.topics.has(topic)) c.channel.send(JSON.stringify({ v: PROTOCOL_VERSION, ...build(c.channel.dropped) }));
  }

  /** Checks every client's queue for a stall (call once a second). */
  checkStalls(): void {
    for (const c of this.clients.values()) c.channel.checkStall();
  }

  /** Disconnects every client. */
  closeAll(code?: number, reason?: string): void {
    for (const [ws, c] of this.clients) {
      if (code !== undefined) c.channel.close(code, reason ?? '');
      else ws.terminate();
    }
    this.clients.clear();
  }

  accept(ws: WebSocket): void {
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
      case 'ping': {
        const streamTime = this.options.streamTime?.();
        return this.sendTo(client, { type: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(streamTime !== undefined ? { streamTime } : {}) });
      }
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
        return this.sendTo(client, { type: 'status', state: this.hello().state, detail: `subscribed: ${[...client.topics].join(', ') || 'nothing'}`, subscribed: [...client.topics] });
      }
      default: {
        const refuse = (e: unknown): void => this.sendTo(client, { type: 'error', message: (e as Error).message });
        try {
          if (!this.options.onClientMessage) throw new Error(`"${msg.type}" messages are not handled by this server`);
          const pending = this.options.onClientMessage(msg);
          if (pending instanceof Promise) pending.catch(refuse);
        } catch (e) {
          refuse(e);
        }
      }
    }
  }

  private sendTo(client: Client, message: ServerMessage): void {
    client.channel.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
  }
}
