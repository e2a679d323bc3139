import { existsSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/config-schema.js';
import type { ClientMessage } from '../server/messages.js';
import { projectPath } from '../util/project-path.js';
import type { FromWorker, PluginSpecs, ToWorker } from './thread-protocol.js';

/** Messages of one session, as the thread hands them to the host. */
export type SessionMessage = Exclude<FromWorker, { type: 'ready' | 'result' | 'pong' }>;

export interface SessionThreadOptions {
  /** The thread's V8 heap cap (old generation), MB; beyond it the thread dies (out of memory), not the process. */
  readonly maxHeapMb?: number;
  /** No answer to a ping for this long: the thread is stalled and terminated. */
  readonly stallTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** Time the thread has to load its modules before it counts as stalled. */
  readonly startTimeoutMs: number;
  /** A message of one of its sessions. */
  readonly onMessage: (message: SessionMessage) => void;
  /** The thread is gone (it died, stalled, or was terminated); called once. */
  readonly onExit: (why: string) => void;
}

/** Load of the thread since the last sample. */
export interface ThreadLoad {
  /** Share of one core its event loop was busy (0..1). */
  readonly cpu: number;
  /** Per session, milliseconds spent handling its signal. */
  readonly decodeMs: Readonly<Record<string, number>>;
}

/**
 * The host's side of one session worker thread: creates, steers and stops sessions in it, and
 * watches it (a ping every `pingIntervalMs`; no pong for `stallTimeoutMs`: terminated).
 */
export class SessionThread {
  /** Sessions placed in this thread (by the host). */
  readonly sessions = new Set<string>();
  private readonly worker: Worker;
  private readonly requests = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextRequest = 0;
  private pingSeq = 0;
  private lastPong = performance.now();
  private ready = false;
  private readonly watchdog: NodeJS.Timeout;
  private why: string | undefined;
  private exited = false;
  private elu: EventLoopUtilization | undefined;
  private decodeTotal: Readonly<Record<string, number>> = {};
  private decodeSampled: Readonly<Record<string, number>> = {};
  readonly startedAt = performance.now();
  /** When the thread had loaded its modules (ms since startedAt), once it had. */
  startMs: number | undefined;

  constructor(
    readonly index: number,
    private readonly options: SessionThreadOptions,
  ) {
    this.worker = new Worker(sessionWorkerUrl(), {
      ...(options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } } : {}),
      // The host's own options, not the test runner's or a debugger's.
      execArgv: [],
      name: `neurorx session thread ${index}`,
    });
    this.worker.on('message', (m: FromWorker) => this.received(m));
    this.worker.on('error', (e: Error & { code?: string }) => {
      this.why ??= e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `ran out of memory (heap cap ${options.maxHeapMb} MB)` : `died: ${e.message}`;
    });
    this.worker.on('exit', (code) => this.gone(this.why ?? `exited (code ${code})`));
    this.watchdog = setInterval(() => this.check(), options.pingIntervalMs);
    this.watchdog.unref();
  }

  get alive(): boolean {
    return !this.exited && this.why === undefined;
  }

  create(id: string, config: Config, plugins: PluginSpecs, savedModel?: string): void {
    this.send({ type: 'create', id, config, plugins, ...(savedModel ? { savedModel } : {}) });
  }

  /** A control message for session `id`; rejects with the session's answer. */
  control(id: string, message: ClientMessage): Promise<void> {
    const requestId = this.nextRequest++;
    return new Promise<void>((resolve, reject) => {
      this.requests.set(requestId, { resolve, reject });
      this.send({ type: 'control', id, requestId, message });
    });
  }

  wants(id: string, topics: readonly string[]): void {
    this.send({ type: 'wants', id, topics });
  }

  stop(id: string): void {
    this.send({ type: 'stop', id });
  }

  /** Ends the thread now (its sessions with it). */
  terminate(why: string): Promise<void> {
    this.why ??= why;
    return this.worker.terminate().then(() => {
      this.gone(why);
    });
  }

  /** CPU and per-session decode time since the last call. */
  sampleLoad(): ThreadLoad {
    let cpu = 0;
    try {
      const now = this.worker.performance.eventLoopUtilization();
      cpu = this.elu ? this.worker.performance.eventLoopUtilization(now, this.elu).utilization : 0;
      this.elu = now;
    } catch {
      // (the thread is gone)
    }
    const decodeMs: Record<string, number> = {};
    for (const [id, total] of Object.entries(this.decodeTotal)) decodeMs[id] = total - (this.decodeSampled[id] ?? 0);
    this.decodeSampled = this.decodeTotal;
    return { cpu, decodeMs };
  }

  private send(m: ToWorker): void {
    if (this.alive) this.worker.postMessage(m);
  }

  private received(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.startMs = performance.now() - this.startedAt;
        this.lastPong = performance.now();
        return;
      case 'pong':
        this.lastPong = performance.now();
        this.decodeTotal = m.decodeMs;
        return;
      case 'result': {
        const request = this.requests.get(m.requestId);
        this.requests.delete(m.requestId);
        if (m.error === undefined) request?.resolve();
        else request?.reject(new Error(m.error));
        return;
      }
      default:
        this.options.onMessage(m);
    }
  }

  private check(): void {
    if (!this.alive) return;
    const silent = performance.now() - this.lastPong;
    if (!this.ready) {
      if (silent > this.options.startTimeoutMs) void this.terminate(`did not start within ${this.options.startTimeoutMs} ms`);
      return;
    }
    if (silent > this.options.stallTimeoutMs) {
      void this.terminate(`stalled (no answer for ${Math.round(silent)} ms)`);
      return;
    }
    this.send({ type: 'ping', seq: this.pingSeq++ });
  }

  private gone(why: string): void {
    if (this.exited) return;
    this.exited = true;
    clearInterval(this.watchdog);
    for (const request of this.requests.values()) request.reject(new Error(`session thread ${this.index} ${why}`));
    this.requests.clear();
    this.options.onExit(why);
  }
}

/**
 * The worker's entry: next to this module when it runs compiled; the compiled one (dist/) when it
 * runs from the TypeScript sources (the tests), since a worker thread cannot load TypeScript.
 */
export function sessionWorkerUrl(): URL {
  const sibling = new URL('./session-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = projectPath('dist', 'src', 'host', 'session-worker.js');
  if (!existsSync(built)) throw new Error(`the session worker is not built (${built}): run npm run build`);
  return pathToFileURL(built);
}
