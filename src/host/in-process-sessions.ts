import type { Config } from '../config/config-schema.js';
import { openSession, type SessionCore } from '../session/run-session.js';
import type { HostedSession, HostedSessionInfo } from './hosted-session.js';
import { inProcessSession } from './in-process-session.js';
import type { HostSessions } from './host-sessions.js';

interface Entry {
  readonly core: SessionCore;
  readonly hosted: HostedSession;
  stats: { decisionsPerSecond: number; latencyMs: { p50: number; p99: number } };
  lastError?: string;
  readonly detach: () => void;
}

/**
 * Sessions run in this thread, one after another on its event loop: no isolation (an exception in
 * one can reach the others), no restarts. For tests and small setups; SessionHost isolates them.
 */
export class InProcessSessions implements HostSessions {
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly log: (id: string, line: string) => void = () => {}) {}

  async create(id: string, config: Config): Promise<HostedSession> {
    if (this.sessions.has(id)) throw new Error(`session "${id}" exists`);
    const core = await openSession(config, { log: (l) => this.log(id, l) });
    // Taken while it opened?
    if (this.sessions.has(id)) {
      await core.stop({ discardRecording: true });
      throw new Error(`session "${id}" exists`);
    }
    const entry: Entry = {
      core,
      hosted: inProcessSession(id, core),
      stats: { decisionsPerSecond: 0, latencyMs: { p50: 0, p99: 0 } },
      // The session's own stats, once a second, for the list.
      detach: core.attach({
        broadcast: () => {},
        broadcastEach: (_topic, build) => {
          const m = build(0);
          if (m.type === 'stats') entry.stats = { decisionsPerSecond: m.decisionsPerSecond, latencyMs: m.latencyMs };
        },
      }),
    };
    this.sessions.set(id, entry);
    void core.done.then(({ error }) => {
      if (error) entry.lastError = error.message;
    });
    core.start();
    return entry.hosted;
  }

  list(): HostedSessionInfo[] {
    return [...this.sessions.keys()].map((id) => this.get(id)!);
  }

  get(id: string): HostedSessionInfo | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    return {
      id,
      name: e.core.config.name,
      kind: e.core.config.pipeline.kind,
      state: e.core.state,
      clients: 0,
      decisionsPerSecond: e.stats.decisionsPerSecond,
      latencyMs: e.stats.latencyMs,
      cpu: 0,
      restarts: 0,
      ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
      fromSavedModel: false,
      thread: 0,
    };
  }

  async stop(id: string): Promise<boolean> {
    const e = this.sessions.get(id);
    if (!e) return false;
    this.sessions.delete(id);
    e.detach();
    await e.core.stop();
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.stop(id)));
  }
}
