import { connect, type NatsConnection } from 'nats';
import { attachMqttBus } from '../bus/mqtt-session-bus.js';
import { attachNatsBus } from '../bus/nats-session-bus.js';
import { ModelStore } from '../bus/model-store.js';
import type { SessionBus } from '../bus/session-bus.js';
import { SessionDirectory, type DirectoryWatch } from '../bus/session-directory.js';
import { LeasePool, type LoseReason } from '../bus/session-leases.js';
import { natsSubjects } from '../bus/subjects.js';
import { configFromJson, type Config } from '../config/config-schema.js';
import { PROTOCOL_VERSION, type HelloInfo, type StatusMessage } from '../server/messages.js';
import { SessionHost } from './session-host.js';

export interface BusWorkerOptions {
  /** NATS server URLs; the worker connects to any and reconnects forever. */
  readonly servers: readonly string[];
  /** The worker's name in the lease bucket (letters, digits, '-', '_'). */
  readonly name: string;
  /** Where the host keeps the models of its sessions (default a temporary folder). */
  readonly stateDir?: string;
  readonly sessionsPerThread?: number;
  readonly maxHeapMb?: number;
  readonly ttlMs?: number;
  readonly heartbeatMs?: number;
  /** Relative paths of a session's config (plug-ins) resolve from here; default the working directory. */
  readonly baseDir?: string;
  readonly log?: (line: string) => void;
}

/** The longest wait before a session that could not start is tried again. */
const START_RETRY_MAX_MS = 30_000;

/** One session this worker holds the lease of. */
interface Running {
  /** The config as the directory holds it (JSON text): a new one restarts the session. */
  readonly json: string;
  /** Settles when the session has started (or could not start). */
  started: Promise<void>;
  stopped: boolean;
  buses: SessionBus[];
  /** Why it does not run although it is held (an invalid config). */
  error?: string;
  /** Failed starts so far (each retry waits twice as long). */
  attempts: number;
  /** Ends the wait before a retry (the session was lost meanwhile). */
  wake?: () => void;
}

/**
 * `neurorx worker`: joins a pool of workers on NATS. It runs, in a SessionHost's worker threads,
 * the wanted sessions (SessionDirectory) whose leases it holds (LeasePool), publishes each on
 * `neurorx.<id>.*` over its one connection, keeps their trained models in the ModelStore and
 * starts a session it takes over from the model saved there (no calibration again).
 *
 * A session whose config is invalid is reported on `neurorx.<id>.status` and its lease kept, so
 * that the pool does not pass it round in a loop; putting a new config for it in the directory
 * releases the lease, and whoever takes it tries again. A session that could not start (its source
 * did not open, its thread failed) is tried again here with a doubling wait (at most 30 s).
 */
export class BusWorker {
  private readonly running = new Map<string, Running>();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly host: SessionHost,
    readonly pool: LeasePool,
    private readonly watch: DirectoryWatch,
    private readonly log: (line: string) => void,
  ) {}

  static async start(options: BusWorkerOptions): Promise<BusWorker> {
    const log = options.log ?? (() => {});
    const servers = [...options.servers];
    let nc: NatsConnection;
    try {
      nc = await connect({ servers, name: `neurorx worker ${options.name}`, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    } catch (e) {
      throw new Error(`worker ${options.name}: cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const directory = await SessionDirectory.open(nc);
      const models = await ModelStore.open(nc);
      // eslint-disable-next-line prefer-const -- the callbacks below need the worker, built after them
      let worker: BusWorker | undefined;
      const host = new SessionHost({
        log,
        ...(options.stateDir ? { stateDir: options.stateDir } : {}),
        ...(options.sessionsPerThread ? { sessionsPerThread: options.sessionsPerThread } : {}),
        ...(options.maxHeapMb !== undefined ? { maxHeapMb: options.maxHeapMb } : {}),
        onEvent: (e) => {
          if (e.type === 'model') {
            models.save(e.id, e.json).then(
              () => log(`session ${e.id}: its model is saved on the bus`),
              (err: unknown) => log(`session ${e.id}: its model could not be saved on the bus: ${(err as Error).message}`),
            );
          } else if (e.type === 'failed') {
            log(`session ${e.id} failed: ${e.error}${e.restartInMs !== undefined ? ` (restart in ${e.restartInMs} ms)` : ''}`);
          } else if (e.type === 'restarted') {
            log(`session ${e.id} restarted (${e.restarts} restarts${e.fromSavedModel ? ', from its saved model' : ''})`);
          }
        },
      });
      const pool = new LeasePool({
        nc,
        worker: options.name,
        directory,
        log,
        ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
        ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
        onAcquire: (id, config) => worker!.acquire(id, config, models, servers, options),
        onLose: (id, why) => worker!.lose(id, why),
      });
      // A held session whose config changes is let go, so that it starts again with the new one.
      const watch = await directory.watch((c) => {
        if (c.kind !== 'put') return;
        const r = worker?.running.get(c.id);
        if (r && r.json !== JSON.stringify(c.config)) {
          log(`session ${c.id}: its config changed; releasing it to start again`);
          void pool.release(c.id);
        }
      }, log);
      worker = new BusWorker(nc, host, pool, watch, log);
      await pool.start();
      log(`connected to ${nc.getServer()}, in the pool (lease ttl ${options.ttlMs ?? 3000} ms)`);
      return worker;
    } catch (e) {
      await nc.close();
      throw e;
    }
  }

  /** The sessions held here, and whether each runs. */
  sessions(): { id: string; running: boolean; error?: string }[] {
    return [...this.running].map(([id, r]) => ({ id, running: r.buses.length > 0, ...(r.error ? { error: r.error } : {}) }));
  }

  /** Releases every lease (others take the sessions over at once), stops the sessions and closes the connection. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.watch.stop();
      await this.pool.close();
      await this.host.close();
      if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
    })());
  }

  private acquire(id: string, json: unknown, models: ModelStore, servers: string[], options: BusWorkerOptions): void {
    const running: Running = { json: JSON.stringify(json), started: Promise.resolve(), stopped: false, buses: [], attempts: 0 };
    running.started = this.run(id, json, running, models, servers, options);
    this.running.set(id, running);
  }

  private async run(id: string, json: unknown, running: Running, models: ModelStore, servers: string[], options: BusWorkerOptions): Promise<void> {
    let config: Config;
    try {
      config = await configFromJson(json, options.baseDir ?? process.cwd(), `session ${id}`);
    } catch (e) {
      return this.cannotRun(id, running, `its config is invalid: ${(e as Error).message}`);
    }
    let savedModel: unknown;
    try {
      savedModel = await models.load(id);
    } catch (e) {
      this.log(`session ${id}: its saved model could not be read (${(e as Error).message}); it calibrates again`);
    }
    if (running.stopped) return;
    try {
      // The worker attaches the buses itself (one connection for all its sessions, the directory's id).
      const { bus: _ownBuses, ...threadConfig } = config;
      const session = await this.host.create(id, threadConfig, { ...(savedModel !== undefined ? { savedModel } : {}), ...(options.baseDir ? { baseDir: options.baseDir } : {}) });
      if (running.stopped) return;
      running.buses.push(await attachNatsBus(session, { servers, session: id, connection: this.nc }, this.log));
      if (config.bus?.mqtt) {
        const { session: _own, ...mqtt } = config.bus.mqtt;
        running.buses.push(await attachMqttBus(session, { ...mqtt, session: id }, this.log));
      }
      const how = savedModel !== undefined ? 'decoding with its saved model (no calibration)' : 'calibrating as its config says';
      this.log(`session ${id} (${config.name}) runs here, ${how}; this worker holds ${this.pool.held().length}: ${this.pool.held().join(' ')}`);
      this.status(id, session.hello().state, `session ${id} runs on worker ${this.pool.worker}, ${how}`);
      if (running.stopped) await this.closeBuses(running);
    } catch (e) {
      if (running.stopped) return;
      // A source or a thread that failed may work the next time: tried again here, less and less often.
      const waitMs = Math.min(START_RETRY_MAX_MS, 1000 * 2 ** running.attempts++);
      this.log(`session ${id}: it could not start (${(e as Error).message}); trying again in ${waitMs / 1000} s`);
      this.status(id, 'stopped', `session ${id} could not start on worker ${this.pool.worker}: ${(e as Error).message}; trying again in ${waitMs / 1000} s`, 'the session could not start');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        running.wake = () => (clearTimeout(timer), resolve());
      });
      if (!running.stopped) return this.run(id, json, running, models, servers, options);
    }
  }

  private cannotRun(id: string, running: Running, why: string): void {
    running.error = why;
    this.log(`session ${id}: ${why}; it stays with worker ${this.pool.worker} until its config changes`);
    this.status(id, 'stopped', `session ${id} does not run: ${why}`, why.split('\n')[0]);
  }

  /** A status on the bus from the worker itself (the session's own statuses come through its bus). */
  private status(id: string, state: HelloInfo['state'], detail: string, warning?: string): void {
    const message: StatusMessage = { type: 'status', state, detail, ...(warning ? { warning } : {}) };
    try {
      this.nc.publish(natsSubjects.message(id, 'status'), JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
    } catch (e) {
      this.log(`session ${id}: a status could not be published: ${(e as Error).message}`);
    }
  }

  private async lose(id: string, why: LoseReason): Promise<void> {
    const running = this.running.get(id);
    if (!running) return;
    running.stopped = true;
    running.wake?.();
    this.running.delete(id);
    await running.started;
    await this.closeBuses(running);
    if (this.host.list().some((s) => s.id === id)) await this.host.stop(id).catch((e: unknown) => this.log(`session ${id}: ${(e as Error).message}`));
    this.log(`session ${id} stopped here (${why}); this worker holds ${this.pool.held().length}`);
  }

  private async closeBuses(running: Running): Promise<void> {
    const buses = running.buses.splice(0);
    await Promise.all(buses.map((b) => b.close()));
  }
}
