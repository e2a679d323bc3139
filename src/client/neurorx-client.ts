/**
 * A small typed client for the neurorx WebSocket protocol (version 2), for Node and browsers.
 *
 * - Browser: uses the built-in WebSocket; the compiled file loads as an ES module served by the
 *   neurorx server: `import { NeurorxClient } from '/client/neurorx-client.js'`.
 * - Node: uses the built-in WebSocket when there is one (Node 22+), else imports the `ws` package
 *   on first connect. Nothing is imported statically, so this module has no dependencies.
 *
 * ```ts
 * const client = new NeurorxClient();
 * client.on('command', (m) => console.log(m.command, m.label));
 * client.on('close', (e) => console.log(`disconnected (${e.code}), retry in ${e.retryInMs} ms`));
 * const hello = await client.connect('ws://127.0.0.1:8765', { token, topics: ['command', 'status'] });
 * client.sendMarker('left');
 * console.log('rtt', await client.ping(), 'ms');
 * client.close();
 * ```
 *
 * The connection is kept up: when it drops, the client reconnects with exponential backoff
 * (capped and jittered) and, once the new hello arrives, subscribes again to the topics it had.
 * Handlers never see a message of another protocol version: those are reported on `error`.
 */
import type { ClientMessage, ErrorMessage, HelloMessage, PongMessage, ProtocolVersion, ServerMessage, ServerMessageOf, ServerMessageType, SessionState, Topic } from './protocol-types.js';

// Types only: the compiled module imports nothing, so a browser needs this one file.
export type * from './protocol-types.js';

/** The protocol version this client speaks (the envelope's `v`). */
export const PROTOCOL_VERSION: ProtocolVersion = 2;

/** Backoff between reconnection attempts: `min(maxDelayMs, initialDelayMs * factor^n)`, jittered. */
export interface ReconnectOptions {
  /** Delay before the first retry (default 250 ms). */
  initialDelayMs?: number;
  /** Cap on the delay (default 10 000 ms). */
  maxDelayMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is random, 0..1 (default 0.5: the delay is 50-100 % of the nominal one). */
  jitter?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

export interface ConnectOptions {
  /** Access token: sent as `Authorization: Bearer` where headers can be set (the `ws` package), else as `?token=`. */
  token?: string;
  /**
   * Topics to receive (default: the server's defaults, i.e. everything but `signal`). The client
   * subscribes/unsubscribes after each hello so the server sends exactly these.
   */
  topics?: readonly Topic[];
  /** Reconnect when the connection drops (default true). `false`: one attempt, no retries. */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Send a ping this often (ms) and drop the connection (then reconnect) when the previous one is
   * still unanswered: notices a dead peer that never closed the socket. Default 0: off.
   */
  heartbeatMs?: number;
  /** A WebSocket implementation to use instead of the built-in one or `ws`. */
  WebSocket?: WebSocketConstructor;
}

/** Emitted when a connection opens (before its hello). */
export interface OpenEvent {
  url: string;
  /** 0 for the first connection, then counting reconnections. */
  reconnects: number;
}

/** Emitted when a connection closes or an attempt to open one fails. */
export interface CloseEvent {
  code: number;
  reason: string;
  /** Whether the connection had opened (false: the attempt failed). */
  wasOpen: boolean;
  /** Delay before the next attempt, or undefined when the client will not reconnect. */
  retryInMs?: number;
}

/** A problem the client noticed itself (as opposed to an `error` message from the server). */
export interface ClientError {
  type: 'error';
  source: 'client';
  message: string;
  /** The offending frame, when a received frame was the problem. */
  data?: string;
}

/** What `error` handlers get: the server's error message or the client's own. */
export type ErrorEvent = (ErrorMessage & { source: 'server' }) | ClientError;

/** Handler argument per event name. */
export type ClientEvents = { [T in Exclude<ServerMessageType, 'error'>]: ServerMessageOf<T> } & {
  error: ErrorEvent;
  open: OpenEvent;
  close: CloseEvent;
  /** Every server message of this protocol version, whatever its type. */
  message: ServerMessage;
};
export type ClientEventName = keyof ClientEvents;
export type Handler<E extends ClientEventName> = (event: ClientEvents[E]) => void;

// The few WebSocket members used here: the standard browser API, which the `ws` package implements too.
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the connection without the closing handshake. */
  terminate?: () => void;
}
export type WebSocketConstructor = new (url: string, protocolsOrOptions?: unknown) => WebSocketLike;

const OPEN = 1;
const DEFAULT_RECONNECT: Required<ReconnectOptions> = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.5, maxAttempts: Infinity };

type Timer = ReturnType<typeof setTimeout>;

interface PendingPing {
  resolve: (answer: { sentAt: number; receivedAt: number; pong: PongMessage }) => void;
  reject: (e: Error) => void;
  sentAt: number;
  timer: Timer;
}

export class NeurorxClient {
  private ws: WebSocketLike | undefined;
  private url = '';
  private options: ConnectOptions = {};
  private backoff: Required<ReconnectOptions> | undefined;
  private builtinWS: WebSocketConstructor | undefined;
  private closedByUser = false;
  /** Between connect() and close() (or giving up). */
  private active = false;
  /** Bumped by connect() and close(): an open() begun for an earlier connect() gives up. */
  private generation = 0;
  private attempts = 0;
  private reconnects = 0;
  private retryTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private heartbeatPending = false;
  private nextPingId = 1;
  private readonly pings = new Map<string, PendingPing>();
  private readonly handlers = new Map<ClientEventName, Set<(event: never) => void>>();
  /** Topics wanted; undefined until the first hello when none were asked for. */
  private desired: Set<Topic> | undefined;
  /** subscribe/unsubscribe calls made before `desired` is known, applied on the first hello. */
  private early: { add: boolean; topics: Topic[] }[] = [];
  private firstHello: { resolve: (h: HelloMessage) => void; reject: (e: Error) => void } | undefined;
  private lastHello: HelloMessage | undefined;
  private sessionState: SessionState | undefined;
  private helloReceived = false;

  /** The last hello received (from the current or an earlier connection). */
  get hello(): HelloMessage | undefined {
    return this.lastHello;
  }

  /** The session state from the last hello or status message. */
  get state(): SessionState | undefined {
    return this.sessionState;
  }

  /** Whether the connection is open and its hello has arrived. */
  get connected(): boolean {
    return this.ws?.readyState === OPEN && this.helloReceived;
  }

  /** The topics this client asks for (undefined until known). */
  get topics(): Topic[] | undefined {
    return this.desired && [...this.desired];
  }

  /**
   * Connects and resolves with the first hello. With reconnection on (the default) failed
   * attempts are retried until one succeeds; with `reconnect: false` the first failure rejects.
   * `close()` rejects a pending connect.
   */
  connect(url: string, options: ConnectOptions = {}): Promise<HelloMessage> {
    if (this.active) return Promise.reject(new Error('already connected or connecting; close() first'));
    this.active = true;
    this.generation++;
    this.url = url;
    this.options = options;
    this.backoff = options.reconnect === false ? undefined : { ...DEFAULT_RECONNECT, ...(options.reconnect === true ? {} : options.reconnect) };
    this.closedByUser = false;
    this.attempts = 0;
    this.reconnects = 0;
    this.desired = options.topics ? new Set(options.topics) : undefined;
    this.early = [];
    const first = new Promise<HelloMessage>((resolve, reject) => (this.firstHello = { resolve, reject }));
    void this.open();
    return first;
  }

  /** Closes the connection for good: no reconnection; pending pings and connect are rejected. */
  close(code = 1000, reason = 'client closed'): void {
    this.closedByUser = true;
    this.active = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = undefined;
    this.helloReceived = false;
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate?.();
      }
    }
    this.failPings(new Error('client closed'));
    this.firstHello?.reject(new Error('client closed before the server said hello'));
    this.firstHello = undefined;
  }

  /** Adds a handler; returns a function that removes it. */
  on<E extends ClientEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => this.off(event, handler);
  }

  /** Adds a handler called once. */
  once<E extends ClientEventName>(event: E, handler: Handler<E>): () => void {
    const off = this.on(event, (e) => {
      off();
      handler(e);
    });
    return off;
  }

  off<E extends ClientEventName>(event: E, handler: Handler<E>): void {
    this.handlers.get(event)?.delete(handler);
  }

  /** Receives these topics too, now and after every reconnection. */
  subscribe(topics: readonly Topic[]): void {
    this.changeTopics(true, topics);
  }

  /** Stops receiving these topics, now and after every reconnection. */
  unsubscribe(topics: readonly Topic[]): void {
    this.changeTopics(false, topics);
  }

  /**
   * Sends a marker into the stream (e.g. a cue: matched against the pipeline's events, it comes
   * back as a `cue` message). `time` is stream time in seconds (default: the next sample).
   * Returns false when not connected: markers are not queued, a late cue would mislabel data.
   */
  sendMarker(value: string, time?: number): boolean {
    return this.send({ type: 'marker', value, ...(time !== undefined ? { time } : {}) });
  }

  /** Asks the session to calibrate anew from the live stream. Returns false when not connected. */
  startCalibration(trialsPerClass?: number): boolean {
    return this.send({ type: 'calibration', action: 'start', ...(trialsPerClass !== undefined ? { trialsPerClass } : {}) });
  }

  /** Asks the session to go back to the configured decoder. Returns false when not connected. */
  stopCalibration(): boolean {
    return this.send({ type: 'calibration', action: 'stop' });
  }

  /** Asks the session to pause (no decisions or commands until resumed). Returns false when not connected. */
  pause(): boolean {
    return this.send({ type: 'pause' });
  }

  resume(): boolean {
    return this.send({ type: 'resume' });
  }

  /** Round trip to the server: resolves with the time in ms until the matching pong. */
  async ping(timeoutMs = 5000): Promise<number> {
    const a = await this.roundTrip(timeoutMs);
    return a.receivedAt - a.sentAt;
  }

  /**
   * Maps this client's clock (performance.now(), ms) onto the session's stream clock, so that a
   * page can send markers timed by its own frames: `pings` round trips, the shortest kept (the
   * least queueing), its pong's stream time taken as the stream clock at the round trip's
   * midpoint. Resolves with the offset in seconds (stream time = performance.now() / 1000 +
   * offset), or undefined when the server gives no stream time (no samples yet, a hosted session).
   */
  async syncStreamClock(pings = 8, timeoutMs = 5000): Promise<number | undefined> {
    let best: { rtt: number; offset: number } | undefined;
    for (let i = 0; i < pings; i++) {
      const { sentAt, receivedAt, pong } = await this.roundTrip(timeoutMs);
      if (pong.streamTime === undefined) continue;
      const rtt = receivedAt - sentAt;
      if (!best || rtt < best.rtt) best = { rtt, offset: pong.streamTime - (sentAt + receivedAt) / 2000 };
    }
    return best?.offset;
  }

  private roundTrip(timeoutMs: number): Promise<{ sentAt: number; receivedAt: number; pong: PongMessage }> {
    const id = `p${this.nextPingId++}`;
    return new Promise((resolve, reject) => {
      if (!this.isOpen()) return reject(new Error('not connected'));
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error(`no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(id, { resolve, reject, sentAt: now(), timer });
      this.send({ type: 'ping', id });
    });
  }

  /** Sends any client message; false when the connection is not open. */
  send(message: ClientMessage): boolean {
    if (!this.ws || !this.isOpen()) return false;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
    return true;
  }

  // -------------------------------------------------------------------------------------------

  private isOpen(): boolean {
    return this.ws?.readyState === OPEN;
  }

  private async open(): Promise<void> {
    const generation = this.generation;
    let ws: WebSocketLike;
    try {
      const WS = this.options.WebSocket ?? (this.builtinWS ??= await builtinWebSocket());
      if (generation !== this.generation) return;
      ws = createSocket(WS, this.url, this.options.token);
    } catch (e) {
      this.emitError(`cannot open ${this.url}: ${(e as Error).message}`);
      this.closed(1006, (e as Error).message, false);
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    let failure = '';
    ws.onopen = () => {
      wasOpen = true;
      this.emit('open', { url: this.url, reconnects: this.reconnects });
      this.startHeartbeat();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = (ev) => {
      // The close event follows. Browsers give no detail; `ws` does (e.g. ECONNREFUSED, 401).
      const message = (ev as { message?: unknown } | undefined)?.message;
      if (typeof message === 'string') failure = message;
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      detach(ws);
      this.closed(ev.code, ev.reason || failure, wasOpen);
    };
  }

  /** The current socket is gone (closed, failed, or dropped by the heartbeat): report and maybe retry. */
  private closed(code: number, reason: string, wasOpen: boolean): void {
    this.ws = undefined;
    const hadHello = this.helloReceived;
    this.helloReceived = false;
    this.stopHeartbeat();
    this.failPings(new Error(`connection closed (${code})`));
    if (this.closedByUser) return;
    if (hadHello) this.attempts = 0;
    this.attempts++;
    const b = this.backoff;
    const retry = b !== undefined && this.attempts <= b.maxAttempts;
    const delay = retry ? backoffDelay(b, this.attempts - 1) : undefined;
    this.emit('close', { code, reason, wasOpen, ...(delay !== undefined ? { retryInMs: delay } : {}) });
    if (!retry) {
      this.active = false;
      this.firstHello?.reject(new Error(`cannot connect to ${this.url} (${code}${reason ? `: ${reason}` : ''})`));
      this.firstHello = undefined;
      return;
    }
    if (this.closedByUser) return; // a close handler may have closed the client
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconnects++;
      void this.open();
    }, delay);
  }

  /** Drops a connection that stopped answering, without waiting for a closing handshake. */
  private drop(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    detach(ws);
    if (ws.terminate) ws.terminate();
    else ws.close(4000, reason);
    this.closed(1006, reason, true);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return this.emitError('binary frame received; the protocol sends JSON text');
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return this.emitError('frame is not JSON', data);
    }
    if (msg === null || typeof msg !== 'object' || typeof (msg as { type?: unknown }).type !== 'string') {
      return this.emitError('frame is not a protocol message (an object with a "type")', data);
    }
    const version = (msg as { v?: unknown }).v;
    if (version !== PROTOCOL_VERSION) {
      return this.emitError(`protocol version ${JSON.stringify(version)} is not supported (this client speaks ${PROTOCOL_VERSION})`, data);
    }
    const m = msg as ServerMessage;
    switch (m.type) {
      case 'hello':
        this.lastHello = m;
        this.sessionState = m.state;
        this.helloReceived = true;
        this.syncTopics(m.subscribed);
        break;
      case 'status':
        this.sessionState = m.state;
        break;
      case 'pong':
        this.settlePing(m);
        break;
    }
    this.emit('message', m);
    if (m.type === 'error') this.emit('error', { ...m, source: 'server' });
    else this.emit(m.type, m);
    if (m.type === 'hello' && this.firstHello) {
      this.firstHello.resolve(m);
      this.firstHello = undefined;
    }
  }

  private changeTopics(add: boolean, topics: readonly Topic[]): void {
    if (topics.length === 0) return;
    if (!this.desired) {
      this.early.push({ add, topics: [...topics] });
      return;
    }
    for (const t of topics) {
      if (add) this.desired.add(t);
      else this.desired.delete(t);
    }
    if (this.connected) this.send({ type: add ? 'subscribe' : 'unsubscribe', topics: [...topics] });
  }

  /** After a hello: asks for the topics wanted that the server does not send yet, and stops the others. */
  private syncTopics(subscribed: readonly Topic[]): void {
    if (!this.desired) {
      this.desired = new Set(subscribed);
      for (const { add, topics } of this.early) {
        for (const t of topics) {
          if (add) this.desired.add(t);
          else this.desired.delete(t);
        }
      }
      this.early = [];
    }
    const have = new Set(subscribed);
    const add = [...this.desired].filter((t) => !have.has(t));
    const remove = subscribed.filter((t) => !this.desired!.has(t));
    if (add.length > 0) this.send({ type: 'subscribe', topics: add });
    if (remove.length > 0) this.send({ type: 'unsubscribe', topics: remove });
  }

  private settlePing(m: PongMessage): void {
    const id = m.id === undefined ? undefined : String(m.id);
    const p = id === undefined ? undefined : this.pings.get(id);
    if (!p || id === undefined) return;
    this.pings.delete(id);
    clearTimeout(p.timer);
    p.resolve({ sentAt: p.sentAt, receivedAt: now(), pong: m });
  }

  private failPings(e: Error): void {
    for (const p of this.pings.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pings.clear();
  }

  private startHeartbeat(): void {
    const every = this.options.heartbeatMs ?? 0;
    if (every <= 0) return;
    this.heartbeatPending = false;
    const beat = (): void => {
      if (this.heartbeatPending) return this.drop(`no pong within ${every} ms`);
      this.heartbeatPending = true;
      this.ping(2 * every).then(
        () => (this.heartbeatPending = false),
        () => {}, // a failed ping is noticed on the next beat, or the connection closed anyway
      );
      this.heartbeatTimer = setTimeout(beat, every);
    };
    this.heartbeatTimer = setTimeout(beat, every);
  }

  private stopHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private emitError(message: string, data?: string): void {
    this.emit('error', { type: 'error', source: 'client', message, ...(data !== undefined ? { data } : {}) });
  }

  private emit<E extends ClientEventName>(event: E, payload: ClientEvents[E]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        (h as Handler<E>)(payload);
      } catch (e) {
        // A failing handler must not break the connection or the other handlers.
        if (event === 'error') console.error('neurorx client: an error handler threw', e);
        else this.emitError(`a "${event}" handler threw: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
}

/** Jittered exponential backoff for the n-th retry (n from 0). */
export function backoffDelay(b: Required<ReconnectOptions>, n: number): number {
  const nominal = Math.min(b.maxDelayMs, b.initialDelayMs * Math.pow(b.factor, n));
  const jitter = Math.min(1, Math.max(0, b.jitter));
  return Math.round(nominal * (1 - jitter * Math.random()));
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  // `ws` throws an unhandled 'error' event when no listener is left.
  ws.onerror = () => {};
}

/** The built-in WebSocket (browsers, Node 22+), else the `ws` package, loaded on demand. */
async function builtinWebSocket(): Promise<WebSocketConstructor> {
  const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof native === 'function') return native;
  // A variable specifier keeps bundlers and type checkers from treating `ws` as a dependency.
  const specifier = 'ws';
  try {
    const mod = (await import(specifier)) as { default?: WebSocketConstructor; WebSocket?: WebSocketConstructor };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor !== 'function') throw new Error('the module has no WebSocket class');
    return markWs(ctor);
  } catch (e) {
    throw new Error(`this runtime has no WebSocket and the "ws" package could not be loaded (npm install ws): ${(e as Error).message}`);
  }
}

const isWsPackage = new WeakSet<WebSocketConstructor>();
function markWs(ctor: WebSocketConstructor): WebSocketConstructor {
  isWsPackage.add(ctor);
  return ctor;
}

/** The `ws` package takes the token as a header; the standard API cannot, so it goes in the URL. */
function createSocket(WS: WebSocketConstructor, url: string, token: string | undefined): WebSocketLike {
  if (token === undefined) return new WS(url);
  if (isWsPackage.has(WS)) return new WS(url, { headers: { authorization: `Bearer ${token}` } });
  const u = new URL(url);
  u.searchParams.set('token', token);
  return new WS(u.toString());
}
