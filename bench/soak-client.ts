import WebSocket from 'ws';
import { TOPICS } from '../src/server/messages.js';

/** How a client behaves: `slow` reads in bursts (its socket paused most of the time), the others read at once. */
export type ClientRole = 'controller' | 'marker' | 'listener' | 'slow';

/** A loss the session told a client about in a message (not the running counts of `stats`). */
export interface LossNotice {
  readonly text: string;
  readonly samples: number | undefined;
}

interface Message {
  type: string;
  [k: string]: unknown;
}

/** Status details that speak of a loss; the loss model's own wording is "gap of X s (N samples) at T s: cause". */
const LOSS_WORDS = /\b(gaps?|lost|loss|dropped|missing|unplugged|closed|reconnect\w*|outage|silent)\b/i;
/** Message types a session sends besides losses (anything else that mentions samples is taken as a loss report). */
const KNOWN_TYPES = new Set(['hello', 'decision', 'command', 'cue', 'signal', 'spectrum', 'stats', 'retrieval', 'emotion', 'status', 'error', 'pong']);

/** A loss report in `m`, if it is one: a status whose detail speaks of a loss, or a message type of its own (e.g. "loss"). */
export function lossNotice(m: Message): LossNotice | undefined {
  const samplesIn = (text: string): number | undefined => {
    const s = /\((\d+) samples\)/.exec(text) ?? /(\d+) samples/.exec(text);
    return s ? Number(s[1]) : undefined;
  };
  if (m.type === 'status' && typeof m.detail === 'string' && LOSS_WORDS.test(m.detail)) return { text: m.detail, samples: samplesIn(m.detail) };
  if (!KNOWN_TYPES.has(m.type)) {
    const text = JSON.stringify(m);
    return { text, samples: typeof m.samples === 'number' ? m.samples : samplesIn(text) };
  }
  return undefined;
}

/** What a client saw in one minute; `takeMinute` returns and resets it. */
export interface ClientMinute {
  decisions: number;
  /** The decisions' own latencyMs (sample reaching neurorx to decision). */
  latencyMs: number[];
  /** Client arrival time minus the decided window's last sample time (both CLOCK_MONOTONIC). */
  arrivalMs: number[];
}

const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * One WebSocket client of the soak, subscribed to every topic. Counts decisions and checks their
 * sequence: a decision missing between two received ones is lost unless the session was paused
 * in between (paused decisions are not sent) or restarted its pipeline (numbers start over). A
 * client closed by the server reconnects after a second (counted).
 */
export class SoakClient {
  minute: ClientMinute = { decisions: 0, latencyMs: [], arrivalMs: [] };
  decisions = 0;
  lostDecisions = 0;
  /** Bytes of messages received. */
  bytes = 0;
  /** Messages the server dropped for this client, summed over its connections (from stats, or the close reason). */
  messagesDropped = 0;
  /** The session's running count of samples lost by the source (last stats). */
  samplesDropped = 0;
  lossNotices = 0;
  /** Error messages from the server and disconnects (unasked for), counted; the first few kept. */
  errors = 0;
  disconnects = 0;
  readonly reasons: string[] = [];
  onLoss: (notice: LossNotice) => void = () => {};
  onSamplesDropped: (total: number) => void = () => {};
  onDecision: () => void = () => {};

  private ws: WebSocket | undefined;
  private droppedBefore = 0;
  private droppedNow = 0;
  private lastSeq: number | undefined;
  private pausedSinceLast = false;
  private stopped = false;
  private slowTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly role: ClientRole,
    private readonly url: string,
    private readonly slow = { pauseMs: 20_000, readMs: 1000 },
  ) {}

  /** Connects, subscribes to every topic, resolves on the server's answer. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      this.lastSeq = undefined;
      this.droppedNow = 0;
      let subscribed = false;
      ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', topics: TOPICS })));
      ws.once('error', (e) => subscribed || reject(e));
      ws.on('message', (data: Buffer) => {
        this.bytes += data.length;
        const m = JSON.parse(data.toString()) as Message;
        if (!subscribed && m.type === 'status' && Array.isArray(m.subscribed)) {
          subscribed = true;
          if (this.role === 'slow') this.readSlowly(ws);
          resolve();
        }
        this.receive(m);
      });
      ws.on('close', (code, reason) => {
        clearTimeout(this.slowTimer);
        const why = reason.toString();
        const dropped = /(\d+) messages dropped/.exec(why);
        this.droppedBefore += Math.max(this.droppedNow, dropped ? Number(dropped[1]) : 0);
        this.droppedNow = 0;
        this.messagesDropped = this.droppedBefore;
        if (this.stopped) return;
        this.disconnects++;
        this.note(`disconnected: ${code} ${why}`.trim());
        setTimeout(() => {
          if (!this.stopped) this.connect().catch((e: Error) => this.note(`reconnect failed: ${e.message}`));
        }, 1000);
      });
    });
  }

  send(message: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  takeMinute(): ClientMinute {
    const m = this.minute;
    this.minute = { decisions: 0, latencyMs: [], arrivalMs: [] };
    return m;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.slowTimer);
    this.ws?.close();
  }

  private receive(m: Message): void {
    switch (m.type) {
      case 'decision': {
        const seq = m.seq as number;
        if (this.lastSeq !== undefined && seq > this.lastSeq + 1 && !this.pausedSinceLast) this.lostDecisions += seq - this.lastSeq - 1;
        this.lastSeq = seq; // a smaller number: the pipeline started over
        this.pausedSinceLast = false;
        this.decisions++;
        this.minute.decisions++;
        this.minute.latencyMs.push(m.latencyMs as number);
        this.minute.arrivalMs.push(monotonicMs() - (m.timestamp as number) * 1000);
        this.onDecision();
        return;
      }
      case 'status':
        if (m.state === 'paused') this.pausedSinceLast = true;
        if (m.state === 'calibrating') this.lastSeq = undefined;
        break;
      case 'stats':
        this.droppedNow = m.messagesDropped as number;
        this.messagesDropped = this.droppedBefore + this.droppedNow;
        if ((m.samplesDropped as number) !== this.samplesDropped) {
          this.samplesDropped = m.samplesDropped as number;
          this.onSamplesDropped(this.samplesDropped);
        }
        return;
      case 'error':
        this.errors++;
        this.note(`error: ${String(m.message)}`);
        return;
    }
    const notice = lossNotice(m);
    if (notice) {
      this.lossNotices++;
      this.onLoss(notice);
    }
  }

  private note(reason: string): void {
    if (this.reasons.length < 10) this.reasons.push(reason);
  }

  /** Keeps the socket paused (nothing read from the kernel) but for a short read every `pauseMs`. */
  private readSlowly(ws: WebSocket): void {
    const pause = (): void => {
      ws.pause();
      this.slowTimer = setTimeout(read, this.slow.pauseMs);
    };
    const read = (): void => {
      ws.resume();
      this.slowTimer = setTimeout(pause, this.slow.readMs);
    };
    pause();
  }
}
