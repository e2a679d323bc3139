import { ErrorCode, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { pipelineRegistry } from '../../pipelines/registry.js';
import type { HostedSession } from '../host/hosted-session.js';
import { offeredTopics, PROTOCOL_VERSION, type ClientMessage, type HelloInfo, type OutboundMessage, type ServerMessage } from '../server/messages.js';
import type { MessageSink } from '../session/run-session.js';
import { VERSION } from '../version.js';
import { checkSessionId, natsSubjects, REQUEST_SUBJECT_TYPES } from './subjects.js';

export interface RemoteSessionOptions {
  /** The session's topics until its hello reply names them; default: every topic of the registered pipelines. */
  readonly topics?: readonly string[];
  /** Pipeline kind and name for the hello shown before the session answered (from its config). */
  readonly pipeline?: { readonly kind: string; readonly name: string };
  /** How long a control request waits for the session's answer; default 2000 ms. */
  readonly controlTimeoutMs?: number;
  /** How long a hello request waits; default 2000 ms. */
  readonly helloTimeoutMs?: number;
  /** Until the session first answers, its hello is asked again this often; default 1000 ms. */
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
}

const decoder = new TextDecoder();

/** Whether a request failed because nobody answered (no worker runs the session, or it is stuck). */
function unanswered(e: unknown): boolean {
  const code: string | undefined = (e as NatsError).code;
  return code === (ErrorCode.Timeout as string) || code === (ErrorCode.NoResponders as string);
}

/** A message from the bus as a sink takes it: an object with a string type, without the envelope's "v". */
function messageOf(value: unknown): OutboundMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { v, ...message } = value as { v?: unknown; type?: unknown };
  if (v !== PROTOCOL_VERSION || typeof message.type !== 'string') return undefined;
  return message as OutboundMessage;
}

/**
 * A session that runs elsewhere (on a worker), as a gateway serves it: its messages come from the
 * bus (`neurorx.<id>.<type>`, one subscription, so the sinks get them in publish order), its hello
 * and catch-up from the `neurorx.<id>.hello` request, its control goes to `neurorx.<id>.control`.
 * The raw signal is whatever the worker publishes; `wants` of the sinks is not carried back.
 */
export class RemoteSession implements HostedSession {
  readonly id: string;
  private readonly sinks = new Set<MessageSink>();
  private readonly sub: Subscription;
  private readonly prefix: string;
  private readonly log: (line: string) => void;
  private readonly controlTimeoutMs: number;
  private readonly helloTimeoutMs: number;
  private readonly retryMs: number;
  private lastHello: HelloInfo;
  private lastCatchUp: readonly ServerMessage[] = [];
  private replyTopics: readonly string[] | undefined;
  private answered = false;
  private asking = false;
  private askAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private droppedCount = 0;
  private lastDropLog = 0;
  private markReachable!: () => void;
  /** Resolves when the session has answered a hello request for the first time. */
  readonly reachable: Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    id: string,
    private readonly options: RemoteSessionOptions = {},
  ) {
    this.id = checkSessionId(id);
    this.log = options.log ?? (() => {});
    this.controlTimeoutMs = options.controlTimeoutMs ?? 2000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 2000;
    this.retryMs = options.retryMs ?? 1000;
    this.reachable = new Promise((resolve) => (this.markReachable = resolve));
    this.lastHello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: `neurorx ${VERSION}`,
      pipeline: options.pipeline ?? { kind: 'unknown', name: this.id },
      stream: { name: '', type: '', sampleRate: 0, channels: [] },
      state: 'stopped',
      detail: `session ${this.id} is not reachable yet`,
    };
    this.prefix = natsSubjects.message(this.id, '');
    this.sub = nc.subscribe(natsSubjects.allMessages(this.id), { callback: (err, msg) => (err ? this.log(`session ${this.id}: ${err.message}`) : this.deliver(msg.subject, msg.data)) });
    this.refresh();
  }

  get topics(): readonly string[] {
    return this.replyTopics ?? this.options.topics ?? offeredTopics(pipelineRegistry);
  }

  /** Messages from the bus that were not protocol JSON and were dropped. */
  get dropped(): number {
    return this.droppedCount;
  }

  hello(): HelloInfo {
    return this.lastHello;
  }

  catchUp(): readonly ServerMessage[] {
    return this.lastCatchUp;
  }

  attach(sink: MessageSink): () => void {
    this.sinks.add(sink);
    return () => void this.sinks.delete(sink);
  }

  async control(message: ClientMessage): Promise<void> {
    let reply: unknown;
    try {
      const m = await this.nc.request(natsSubjects.control(this.id), JSON.stringify(message), { timeout: this.controlTimeoutMs });
      reply = JSON.parse(decoder.decode(m.data));
    } catch (e) {
      if (unanswered(e)) throw new Error(`session ${this.id} did not answer within ${this.controlTimeoutMs} ms`, { cause: e });
      throw new Error(`session ${this.id}: ${(e as Error).message}`, { cause: e });
    }
    const r = reply as { ok?: unknown; type?: unknown; message?: unknown };
    if (r?.ok === true) return;
    throw new Error(r?.type === 'error' && typeof r.message === 'string' ? r.message : `session ${this.id} gave an answer that is neither ok nor an error`);
  }

  /** Asks the session for its hello again (its worker changed, its state changed). */
  refresh(): void {
    if (this.closed) return;
    if (this.asking) {
      this.askAgain = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.asking = true;
    void this.askHello().finally(() => {
      this.asking = false;
      if (this.askAgain) {
        this.askAgain = false;
        this.refresh();
      } else if (!this.answered && !this.closed) {
        this.retryTimer = setTimeout(() => this.refresh(), this.retryMs);
      }
    });
  }

  /** Stops listening; the sinks get nothing more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.sinks.clear();
    if (!this.nc.isClosed()) this.sub.unsubscribe();
  }

  private async askHello(): Promise<void> {
    try {
      const m = await this.nc.request(natsSubjects.hello(this.id), '', { timeout: this.helloTimeoutMs });
      const reply = JSON.parse(decoder.decode(m.data)) as { hello?: unknown; catchUp?: unknown; topics?: unknown };
      const hello = messageOf(reply.hello === undefined ? undefined : { v: PROTOCOL_VERSION, ...(reply.hello as object) });
      if (!hello || hello.type !== 'hello' || typeof (hello as { state?: unknown }).state !== 'string') throw new Error('its hello reply has no hello message');
      const { topics, subscribed: _subscribed, ...info } = hello as HelloInfo & { topics?: unknown; subscribed?: unknown };
      const named: unknown = Array.isArray(reply.topics) ? reply.topics : topics;
      if (Array.isArray(named) && named.every((t) => typeof t === 'string')) this.replyTopics = named;
      const catchUp = Array.isArray(reply.catchUp) ? reply.catchUp.map((c: unknown) => messageOf(c === null || typeof c !== 'object' ? c : { v: PROTOCOL_VERSION, ...c })) : [];
      this.lastHello = info;
      this.lastCatchUp = catchUp.filter((c): c is ServerMessage => c !== undefined);
      if (!this.answered) {
        this.answered = true;
        this.markReachable();
      }
    } catch (e) {
      if (!unanswered(e)) this.log(`session ${this.id}: hello failed: ${(e as Error).message}`);
    }
  }

  private deliver(subject: string, data: Uint8Array): void {
    const type = subject.slice(this.prefix.length);
    // Requests to the session (from this gateway or others) arrive on the same wildcard.
    if (REQUEST_SUBJECT_TYPES.has(type)) return;
    let message: OutboundMessage | undefined;
    try {
      message = messageOf(JSON.parse(decoder.decode(data)));
    } catch {
      message = undefined;
    }
    if (!message) {
      this.droppedCount++;
      const now = Date.now();
      // One line a second at most: a flood of garbage must not become a flood of log lines.
      if (now - this.lastDropLog >= 1000) {
        this.lastDropLog = now;
        this.log(`session ${this.id}: dropped a message on ${subject} that is not protocol JSON (${this.droppedCount} so far)`);
      }
      return;
    }
    for (const sink of this.sinks) {
      try {
        sink.broadcast(message);
      } catch (e) {
        this.log(`session ${this.id}: a sink failed: ${(e as Error).message}`);
      }
    }
    if (message.type === 'status' || !this.answered) this.refresh();
  }
}
