import { checkSessionId } from '../bus/subjects.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config-schema.js';
import type { ClientMessage, HelloInfo, OutboundMessage, ServerMessage } from '../server/messages.js';
import type { MessageSink } from '../session/run-session.js';
import type { HostedSession, HostedSessionInfo } from './hosted-session.js';
import { SessionThread, type SessionMessage } from './session-thread.js';
import type { PluginSpecs } from './thread-protocol.js';

export interface RestartPolicy {
  /** Wait before the first restart, ms (doubled for each further one). */
  readonly initialMs: number;
  readonly maxMs: number;
  /** A session that ran this long before it failed starts again from `initialMs`. */
  readonly resetAfterMs: number;
}

export interface SessionHostOptions {
  /** Sessions per worker thread: 1 (default) isolates every session; more share a thread (and its fate). */
  readonly sessionsPerThread?: number;
  /** V8 heap cap of each thread, MB (a runaway allocation kills its thread only); default 512. */
  readonly maxHeapMb?: number;
  /** A thread that does not answer pings for this long is terminated; default 3000. */
  readonly stallTimeoutMs?: number;
  /** Default 500. */
  readonly pingIntervalMs?: number;
  /**
   * Threads kept started with no session, modules loaded, so that a new or restarted session (a
   * takeover from a dead worker) starts without waiting for a thread to load; default 1.
   */
  readonly spareThreads?: number;
  /** Time a new thread has to load its modules; default 60 000 (a busy machine loads slowly). */
  readonly startTimeoutMs?: number;
  /** Where the models the sessions trained are kept (`<id>.model.json`), to restart from; default a new temporary folder (removed by close()). */
  readonly stateDir?: string;
  /** Default 0.5 s doubling to 30 s, reset after 60 s running. */
  readonly restart?: Partial<RestartPolicy>;
  readonly log?: (line: string) => void;
  readonly onEvent?: (event: HostEvent) => void;
}

/** What happens to the host's sessions. */
export type HostEvent =
  /** Opened for the first time (`create` resolves). */
  | { readonly type: 'started'; readonly id: string; readonly thread: number }
  /** It failed: restarted after `restartInMs`, or (the first open failed: `create` rejects) not at all. */
  | { readonly type: 'failed'; readonly id: string; readonly error: string; readonly restarts: number; readonly restartInMs?: number }
  /** Open again after a failure. */
  | { readonly type: 'restarted'; readonly id: string; readonly thread: number; readonly restarts: number; readonly fromSavedModel: boolean }
  /** Ended for good: stopped by `stop`/`close`, or its source ended. */
  | { readonly type: 'stopped'; readonly id: string; readonly reason: string }
  /** A model started decoding (trained or retrained) and was saved at `path` (a worker also keeps it on the bus). */
  | { readonly type: 'model'; readonly id: string; readonly path: string; readonly json: unknown };

export interface CreateOptions {
  /** Plug-ins to load in the session's thread (default: the config's `plugins`), resolved from `baseDir` (default: the working directory). */
  readonly plugins?: readonly string[];
  readonly baseDir?: string;
  /**
   * A model saved by an earlier run of this session (elsewhere: another worker's, from the bus):
   * the session decodes with it from the start instead of calibrating.
   */
  readonly savedModel?: unknown;
}

/** The topics a sink may want that cost the session work (asked about once a second). */
const COSTLY_TOPICS = ['signal'] as const;

type StatsMessage = Extract<ServerMessage, { type: 'stats' }>;

/**
 * Runs many sessions in worker threads, isolated from each other: an exception, a stall (ping
 * watchdog) or a runaway allocation (heap cap) ends its thread only. The host restarts the
 * sessions of a thread that died, and a session whose pipeline failed, with exponential backoff,
 * decoding with the model they last trained (saved in `stateDir`), and tells their clients.
 */
export class SessionHost {
  private readonly sessions = new Map<string, Hosted>();
  private readonly threads = new Set<SessionThread>();
  private nextThread = 0;
  private readonly perThread: number;
  private readonly policy: RestartPolicy;
  private readonly stateDir: string;
  private readonly ownStateDir: boolean;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  readonly log: (line: string) => void;

  constructor(private readonly options: SessionHostOptions = {}) {
    this.perThread = options.sessionsPerThread ?? 1;
    if (!Number.isInteger(this.perThread) || this.perThread < 1) throw new Error(`sessionsPerThread must be a positive integer, got ${this.perThread}`);
    this.policy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000, ...options.restart };
    this.ownStateDir = options.stateDir === undefined;
    this.stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'neurorx-host-'));
    mkdirSync(this.stateDir, { recursive: true });
    this.log = options.log ?? (() => {});
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Live worker threads. */
  get threadCount(): number {
    return this.threads.size;
  }

  /** Starts a session in a thread; resolves when it is open, rejects when it cannot be opened (nothing is restarted then). */
  async create(id: string, config: Config, options: CreateOptions = {}): Promise<HostedSession> {
    if (this.closing) throw new Error('the session host is closed');
    checkSessionId(id);
    if (this.sessions.has(id)) throw new Error(`session "${id}" exists already`);
    const plugins: PluginSpecs = { specs: [...(options.plugins ?? config.plugins ?? [])], baseDir: path.resolve(options.baseDir ?? process.cwd()) };
    const hosted = new Hosted(this, id, config, plugins);
    this.sessions.set(id, hosted);
    const opened = new Promise<HostedSession>((resolve, reject) => (hosted.firstOpen = { resolve, reject }));
    // A model from an earlier run is written where restarts look for it, before the first open.
    if (options.savedModel !== undefined) hosted.saveModel(options.savedModel, false);
    void this.place(hosted);
    return opened;
  }

  /** One session's line of `list()`. */
  info(id: string): HostedSessionInfo | undefined {
    return this.sessions.get(id)?.info();
  }

  list(): HostedSessionInfo[] {
    return [...this.sessions.values()].map((h) => h.info());
  }

  /** The session, once it has opened (undefined while it starts for the first time). */
  get(id: string): HostedSession | undefined {
    const h = this.sessions.get(id);
    return h?.everOpened ? h : undefined;
  }

  /** Stops a session for good (no restart); resolves when it has stopped. */
  async stop(id: string): Promise<void> {
    const h = this.sessions.get(id);
    if (!h) throw new Error(`no session "${id}"`);
    await this.stopHosted(h, 'stopped by the host');
  }

  /** Stops every session and ends every thread. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.timer);
      await Promise.all([...this.sessions.values()].map((h) => this.stopHosted(h, 'the host closed')));
      await Promise.all([...this.threads].map((t) => t.terminate('closed with the host')));
      if (this.ownStateDir) rmSync(this.stateDir, { recursive: true, force: true });
    })());
  }

  /** Where session `id`'s model is saved. */
  modelPath(id: string): string {
    return path.join(this.stateDir, `${id}.model.json`);
  }

  emit(event: HostEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (e) {
      this.log(`host event handler: ${(e as Error).message}`);
    }
  }

  /** Puts a session in a thread with room (a new one when none has) and opens it there. */
  async place(h: Hosted): Promise<void> {
    h.phase = 'starting';
    // A model still being written is the one to restart from.
    await h.modelWrite;
    if (h.phase !== 'starting') return;
    // Threads that have sessions and room first (packing), then a spare, then a new one.
    const alive = [...this.threads].filter((t) => t.alive && t.sessions.size < this.perThread);
    let thread = alive.find((t) => t.sessions.size > 0) ?? alive[0];
    try {
      thread ??= this.spawn();
    } catch (e) {
      h.failed(`no thread: ${(e as Error).message}`);
      return;
    }
    thread.sessions.add(h.id);
    this.keepSpares();
    h.thread = thread;
    h.lastThread = thread.index;
    h.fromSavedModel = h.savedModel !== undefined;
    thread.create(h.id, h.config, h.plugins, h.savedModel);
  }

  /** Starts threads until `spareThreads` of them have no session. */
  private keepSpares(): void {
    if (this.closing) return;
    const want = this.options.spareThreads ?? 1;
    let spare = [...this.threads].filter((t) => t.alive && t.sessions.size === 0).length;
    try {
      for (; spare < want; spare++) this.spawn();
    } catch (e) {
      this.log(`a spare thread could not be started: ${(e as Error).message}`);
    }
  }

  private spawn(): SessionThread {
    const index = this.nextThread++;
    const thread: SessionThread = new SessionThread(index, {
      ...(this.options.maxHeapMb !== 0 ? { maxHeapMb: this.options.maxHeapMb ?? 512 } : {}),
      stallTimeoutMs: this.options.stallTimeoutMs ?? 3000,
      pingIntervalMs: this.options.pingIntervalMs ?? 500,
      startTimeoutMs: this.options.startTimeoutMs ?? 60_000,
      onMessage: (m) => this.received(m),
      onExit: (why) => this.threadGone(thread, why),
    });
    this.threads.add(thread);
    return thread;
  }

  private threadGone(thread: SessionThread, why: string): void {
    this.threads.delete(thread);
    const ids = [...thread.sessions];
    thread.sessions.clear();
    this.keepSpares();
    if (ids.length === 0) return;
    const mates = ids.length > 1 ? ` (with its sessions ${ids.join(', ')})` : '';
    this.log(`thread ${thread.index} ${why}${mates}`);
    for (const id of ids) this.sessions.get(id)?.failed(`thread ${thread.index} ${why}${mates}`);
  }

  /** A thread without sessions is ended (a new session gets a fresh one). */
  release(h: Hosted): void {
    const thread = h.thread;
    h.thread = undefined;
    if (!thread) return;
    thread.sessions.delete(h.id);
    if (thread.sessions.size > 0 || !thread.alive) return;
    const spare = [...this.threads].filter((t) => t.alive && t.sessions.size === 0).length;
    if (spare > (this.options.spareThreads ?? 1)) void thread.terminate('no sessions left');
  }

  private received(m: SessionMessage): void {
    if (m.type === 'log') {
      this.log(m.id ? `[${m.id}] ${m.line}` : m.line);
      return;
    }
    const h = this.sessions.get(m.id);
    if (!h) return;
    switch (m.type) {
      case 'opened':
        h.opened(m.topics, m.hello, m.catchUp);
        return;
      case 'message':
        h.relay(m.message);
        return;
      case 'hello':
        h.helloInfo = m.hello;
        h.catchUpMessages = m.catchUp;
        return;
      case 'model':
        h.saveModel(m.json);
        return;
      case 'ended':
        h.ended(m.error);
        return;
    }
  }

  private async stopHosted(h: Hosted, reason: string): Promise<void> {
    if (h.phase === 'stopped' && !h.stopping) {
      this.sessions.delete(h.id);
      return;
    }
    h.stopping ??= new Promise<void>((resolve) => {
      clearTimeout(h.restartTimer);
      const thread = h.thread;
      const finish = (): void => {
        clearTimeout(deadline);
        h.finished = undefined;
        this.release(h);
        h.phase = 'stopped';
        h.status('stopped', `session stopped: ${reason}`);
        h.sinks.clear();
        this.sessions.delete(h.id);
        h.firstOpen?.reject(new Error(`session "${h.id}" was stopped before it opened`));
        h.firstOpen = undefined;
        this.emit({ type: 'stopped', id: h.id, reason });
        resolve();
      };
      // A thread that does not stop the session in time is ended with it.
      const deadline = setTimeout(() => void thread?.terminate('did not stop its session in time'), 10_000);
      deadline.unref();
      if (thread?.alive) {
        h.finished = finish;
        thread.stop(h.id);
      } else finish();
    });
    await h.stopping;
  }

  /** Once a second: sessions' CPU shares, and the costly topics their sinks want. */
  private tick(): void {
    for (const thread of this.threads) {
      const load = thread.sampleLoad();
      const ids = [...thread.sessions];
      const total = ids.reduce((s, id) => s + (load.decodeMs[id] ?? 0), 0);
      for (const id of ids) {
        const h = this.sessions.get(id);
        if (h) h.cpu = ids.length === 1 ? load.cpu : total > 0 ? (load.cpu * (load.decodeMs[id] ?? 0)) / total : load.cpu / ids.length;
      }
    }
    for (const h of this.sessions.values()) h.askWants();
  }

  get restartPolicy(): RestartPolicy {
    return this.policy;
  }
}

/** One session of the host, whichever thread runs it now. */
class Hosted implements HostedSession {
  phase: 'starting' | 'open' | 'restarting' | 'stopped' = 'starting';
  everOpened = false;
  thread: SessionThread | undefined;
  lastThread = -1;
  helloInfo: HelloInfo | undefined;
  catchUpMessages: readonly ServerMessage[] = [];
  topics: readonly string[] = [];
  readonly sinks = new Set<MessageSink>();
  restarts = 0;
  lastError: string | undefined;
  fromSavedModel = false;
  savedModel: string | undefined;
  modelWrite: Promise<void> = Promise.resolve();
  private backoffMs: number;
  private openedAt: number | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  decisionsPerSecond = 0;
  latencyMs = { p50: 0, p99: 0 };
  cpu = 0;
  private wanted = '';
  firstOpen: { resolve: (s: HostedSession) => void; reject: (e: Error) => void } | undefined;
  stopping: Promise<void> | undefined;
  /** Set while a stop waits for the thread's `ended`. */
  finished: (() => void) | undefined;

  constructor(
    private readonly host: SessionHost,
    readonly id: string,
    readonly config: Config,
    readonly plugins: PluginSpecs,
  ) {
    this.backoffMs = host.restartPolicy.initialMs;
  }

  hello(): HelloInfo {
    const hello = this.helloInfo!;
    return this.phase === 'open' ? hello : { ...hello, state: 'stopped', ...(this.lastError ? { detail: `session failed: ${this.lastError}` } : {}) };
  }

  catchUp(): readonly ServerMessage[] {
    return this.catchUpMessages;
  }

  control(message: ClientMessage): Promise<void> {
    if (this.phase !== 'open' || !this.thread) return Promise.reject(new Error(`session "${this.id}" is ${this.phase === 'open' ? 'restarting' : this.phase}`));
    return this.thread.control(this.id, message);
  }

  attach(sink: MessageSink): () => void {
    this.sinks.add(sink);
    return () => void this.sinks.delete(sink);
  }

  info(): HostedSessionInfo {
    let clients = 0;
    for (const sink of this.sinks) clients += sink.clientCount ?? 0;
    const state: HostedSessionInfo['state'] = this.phase === 'open' ? (this.helloInfo?.state ?? 'running') : this.phase === 'stopped' ? 'stopped' : this.restarts > 0 ? 'restarting' : 'starting';
    const running = this.phase === 'open';
    return {
      id: this.id,
      name: this.config.name,
      kind: this.config.pipeline.kind,
      state,
      clients,
      decisionsPerSecond: running ? this.decisionsPerSecond : 0,
      latencyMs: running ? { ...this.latencyMs } : { p50: 0, p99: 0 },
      cpu: running ? this.cpu : 0,
      restarts: this.restarts,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      fromSavedModel: this.fromSavedModel,
      thread: this.lastThread,
    };
  }

  opened(topics: readonly string[], hello: HelloInfo, catchUp: readonly ServerMessage[]): void {
    this.topics = topics;
    this.helloInfo = hello;
    this.catchUpMessages = catchUp;
    this.phase = 'open';
    this.openedAt = performance.now();
    // (a new thread's session starts wanting nothing)
    this.wanted = '';
    const thread = this.thread?.index ?? this.lastThread;
    if (!this.everOpened) {
      this.everOpened = true;
      this.host.log(`[${this.id}] started in thread ${thread}`);
      this.host.emit({ type: 'started', id: this.id, thread });
      this.firstOpen?.resolve(this);
      this.firstOpen = undefined;
      return;
    }
    const detail = `session restarted (restart ${this.restarts}${this.fromSavedModel ? ', decoding with its saved model' : ''})`;
    this.host.log(`[${this.id}] ${detail} in thread ${thread}`);
    this.status(hello.state, detail);
    this.host.emit({ type: 'restarted', id: this.id, thread, restarts: this.restarts, fromSavedModel: this.fromSavedModel });
  }

  /** One of the session's messages, to every attached sink. */
  relay(message: OutboundMessage): void {
    if (message.type === 'stats') {
      const stats = message as StatsMessage;
      this.decisionsPerSecond = stats.decisionsPerSecond;
      this.latencyMs = stats.latencyMs;
      let clients = 0;
      for (const sink of this.sinks) clients += sink.clientCount ?? 0;
      this.each((sink) => (sink.broadcastEach ? sink.broadcastEach('status', (messagesDropped) => ({ ...stats, messagesDropped, clients })) : sink.broadcast({ ...stats, clients })));
      return;
    }
    this.each((sink) => sink.broadcast(message));
  }

  /** A status of the host's own (a failure, a restart) to the session's clients. */
  status(state: HelloInfo['state'], detail: string): void {
    const classes = this.helloInfo?.classes;
    this.each((sink) => sink.broadcast({ type: 'status', state, detail, ...(classes ? { classes } : {}) }));
  }

  /** Keeps the model for restarts (and tells the host's listener, unless it came from outside). */
  saveModel(json: unknown, announce = true): void {
    const file = this.host.modelPath(this.id);
    const text = JSON.stringify(json);
    // Written whole, then renamed: a restart never reads half a model.
    this.modelWrite = this.modelWrite
      .then(async () => {
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
        this.savedModel = file;
        if (announce) this.host.emit({ type: 'model', id: this.id, path: file, json });
      })
      .catch((e: Error) => this.host.log(`[${this.id}] the model could not be saved: ${e.message}`));
  }

  /** The thread says the session ended: stopped as asked, its source ended, or it failed. */
  ended(error: string | undefined): void {
    if (this.finished) {
      this.finished();
      return;
    }
    if (error !== undefined) {
      this.host.release(this);
      this.failed(`session failed: ${error}`);
      return;
    }
    this.host.release(this);
    this.phase = 'stopped';
    this.status('stopped', 'session ended: its source ended');
    this.host.emit({ type: 'stopped', id: this.id, reason: 'its source ended' });
  }

  /** It failed (its pipeline, or its thread): restarted after a backoff, unless it never opened. */
  failed(why: string): void {
    this.thread = undefined;
    if (this.finished) {
      this.finished();
      return;
    }
    if (this.phase === 'stopped') return;
    this.lastError = why;
    if (!this.everOpened) {
      this.phase = 'stopped';
      this.host.release(this);
      this.host.emit({ type: 'failed', id: this.id, error: why, restarts: this.restarts });
      this.firstOpen?.reject(new Error(`session "${this.id}": ${why}`));
      this.firstOpen = undefined;
      void this.host.stop(this.id).catch(() => {});
      return;
    }
    const now = performance.now();
    if (this.openedAt !== undefined && now - this.openedAt >= this.host.restartPolicy.resetAfterMs) this.backoffMs = this.host.restartPolicy.initialMs;
    this.openedAt = undefined;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.host.restartPolicy.maxMs, this.backoffMs * 2);
    this.restarts++;
    this.phase = 'restarting';
    const detail = `${why}; restarting in ${(delay / 1000).toFixed(1)} s (restart ${this.restarts})`;
    this.host.log(`[${this.id}] ${detail}`);
    this.status('stopped', detail);
    this.host.emit({ type: 'failed', id: this.id, error: why, restarts: this.restarts, restartInMs: delay });
    this.restartTimer = setTimeout(() => void this.host.place(this), delay);
  }

  /** Tells the thread which costly topics the sinks want now, when that changed. */
  askWants(): void {
    if (this.phase !== 'open' || !this.thread) return;
    const topics = COSTLY_TOPICS.filter((t) => [...this.sinks].some((s) => s.wants?.(t)));
    const key = topics.join(',');
    if (key === this.wanted) return;
    this.wanted = key;
    this.thread.wants(this.id, topics);
  }

  private each(what: (sink: MessageSink) => void): void {
    for (const sink of this.sinks) {
      try {
        what(sink);
      } catch (e) {
        this.host.log(`[${this.id}] a message could not be sent: ${(e as Error).message}`);
      }
    }
  }
}
