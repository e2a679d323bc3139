import { connect, type NatsConnection } from 'nats';
import { RemoteSession } from '../bus/remote-session.js';
import { SessionDirectory, type DirectoryWatch } from '../bus/session-directory.js';
import { watchLeaseHolders, type HolderWatch } from '../bus/session-leases.js';
import type { Config } from '../config/config-schema.js';
import type { SettingNames } from '../server/http-front.js';
import { MultiSessionServer, type MultiSessionOptions } from '../server/multi-session-server.js';
import type { MessageSink } from '../session/run-session.js';
import { hostApi } from './host-api.js';
import type { HostSessions } from './host-sessions.js';
import type { HostedSession, HostedSessionInfo } from './hosted-session.js';

export interface BusGatewayOptions {
  /** NATS server URLs; the gateway connects to any and reconnects forever. */
  readonly servers: readonly string[];
  readonly server: Partial<MultiSessionOptions>;
  readonly names?: SettingNames;
  readonly log?: (line: string) => void;
}

/** A row of the gateway's GET /api/sessions: a host's row, and which worker runs the session. */
export interface GatewaySessionInfo extends HostedSessionInfo {
  /** The worker holding the session's lease (undefined: none yet). */
  readonly worker: string | undefined;
}

/** One wanted session as the gateway serves it. */
interface Served {
  readonly session: RemoteSession;
  readonly config: unknown;
  worker: string | undefined;
  /** Decisions seen in the current second, and the rate over the last whole one. */
  decisions: number;
  rate: number;
  readonly detach: () => void;
}

/** How long an API create waits for the directory's watch to show the new session. */
const CREATE_PATIENCE_MS = 10_000;

/**
 * `neurorx gateway`: serves every session the directory wants, wherever it runs, from the bus:
 * a RemoteSession per wanted session (added and removed as the directory changes, its hello asked
 * again when its lease moves to another worker) behind a MultiSessionServer (protocol v2 at
 * /sessions/<id>, dashboards, the overview at /). Its /api/sessions lists them (with the worker
 * holding each), and creates and stops sessions by writing the directory. A gateway holds no state
 * of its own: run several behind any TCP load balancer.
 */
export class BusGateway {
  private readonly served = new Map<string, Served>();
  private readonly holders = new Map<string, string>();
  private dirWatch: DirectoryWatch | undefined;
  private holderWatch: HolderWatch | undefined;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly directory: SessionDirectory,
    readonly server: MultiSessionServer,
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => {
      for (const s of this.served.values()) {
        s.rate = s.decisions;
        s.decisions = 0;
      }
    }, 1000);
    this.timer.unref();
  }

  static async start(options: BusGatewayOptions): Promise<BusGateway> {
    const log = options.log ?? (() => {});
    const servers = [...options.servers];
    let nc: NatsConnection;
    try {
      nc = await connect({ servers, name: 'neurorx gateway', reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    } catch (e) {
      throw new Error(`gateway: cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
    }
    let server: MultiSessionServer | undefined;
    try {
      const directory = await SessionDirectory.open(nc);
      server = await MultiSessionServer.start(options.server, [], options.names);
      const gateway = new BusGateway(nc, directory, server, log);
      server.use(hostApi(gateway.sessions(), { ...(options.server.token !== undefined ? { token: options.server.token } : {}), allowedOrigins: options.server.allowedOrigins ?? [] }));
      await gateway.watch();
      return gateway;
    } catch (e) {
      await server?.close();
      await nc.close();
      throw e;
    }
  }

  /** The sessions served, with the worker holding each. */
  list(): GatewaySessionInfo[] {
    return [...this.served.keys()].map((id) => this.info(id)!);
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.timer);
      this.dirWatch?.stop();
      this.holderWatch?.stop();
      for (const id of [...this.served.keys()]) this.unserve(id, 'the gateway is shutting down');
      await this.server.close();
      if (!this.nc.isClosed()) await this.nc.close();
    })());
  }

  private async watch(): Promise<void> {
    this.dirWatch = await this.directory.watch((c) => {
      if (c.kind === 'delete') return void this.unserve(c.id, `session "${c.id}" is no longer wanted`);
      const served = this.served.get(c.id);
      if (served && JSON.stringify(served.config) === JSON.stringify(c.config)) return;
      // A new config: its clients start over with the session its worker starts again.
      if (served) this.unserve(c.id, `session "${c.id}" got a new config`);
      this.serve(c.id, c.config);
    }, this.log);
    await this.dirWatch.initialized;
    this.holderWatch = await watchLeaseHolders(
      this.nc,
      (id, worker) => {
        if (worker === undefined) this.holders.delete(id);
        else this.holders.set(id, worker);
        const served = this.served.get(id);
        if (!served) return;
        served.worker = worker;
        // Its clients get the hello of the session as the new worker runs it.
        if (worker !== undefined) served.session.refresh();
      },
      { log: this.log },
    );
    await this.holderWatch.initialized;
    this.log(`${this.served.size} session(s) in the directory`);
  }

  private serve(id: string, config: unknown): void {
    const c = config as { name?: unknown; pipeline?: { kind?: unknown } } | undefined;
    const pipeline = { kind: typeof c?.pipeline?.kind === 'string' ? c.pipeline.kind : 'unknown', name: typeof c?.name === 'string' ? c.name : id };
    let session: RemoteSession;
    try {
      session = new RemoteSession(this.nc, id, { pipeline, log: this.log });
    } catch (e) {
      return void this.log(`session ${JSON.stringify(id.slice(0, 64))}: not served: ${(e as Error).message}`);
    }
    const counter: MessageSink = {
      broadcast: (m) => {
        if (m.type === 'decision') served.decisions++;
      },
      broadcastEach: () => {},
      wants: () => false,
    };
    const served: Served = { session, config, worker: this.holders.get(id), decisions: 0, rate: 0, detach: session.attach(counter) };
    this.served.set(id, served);
    this.server.add(session);
  }

  private unserve(id: string, reason: string): void {
    const served = this.served.get(id);
    if (!served) return;
    this.served.delete(id);
    this.server.remove(id, reason);
    served.detach();
    served.session.close();
  }

  private info(id: string): GatewaySessionInfo | undefined {
    const s = this.served.get(id);
    if (!s) return undefined;
    const hello = s.session.hello();
    return {
      id,
      name: hello.pipeline.name,
      kind: hello.pipeline.kind,
      state: hello.state,
      clients: this.server.clientsOf(id),
      decisionsPerSecond: s.rate,
      // Measured where the session runs, not here.
      latencyMs: { p50: 0, p99: 0 },
      cpu: 0,
      restarts: 0,
      fromSavedModel: false,
      thread: -1,
      worker: s.worker,
    };
  }

  /** The gateway's sessions as the host API drives them: creating and stopping write the directory. */
  private sessions(): HostSessions {
    return {
      create: async (id: string, config: Config): Promise<HostedSession> => {
        await this.directory.put(id, config);
        const t0 = Date.now();
        while (!this.served.has(id) && Date.now() - t0 < CREATE_PATIENCE_MS) await new Promise((r) => setTimeout(r, 50));
        const served = this.served.get(id);
        if (!served) throw new Error(`session "${id}" was put in the directory but the gateway has not seen it yet`);
        return served.session;
      },
      list: () => this.list(),
      get: (id: string) => this.info(id),
      stop: async (id: string): Promise<boolean> => {
        if (!this.served.has(id)) return false;
        await this.directory.delete(id);
        return true;
      },
    };
  }
}
