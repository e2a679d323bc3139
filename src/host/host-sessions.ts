import type { Config } from '../config/config-schema.js';
import type { MultiSessionServer } from '../server/multi-session-server.js';
import type { HostedSession, HostedSessionInfo } from './hosted-session.js';

/**
 * What the host's HTTP API (host-api.ts) drives: the sessions of a host, wherever they run.
 * SessionHost (worker threads) satisfies it; so does InProcessSessions (this thread).
 */
export interface HostSessions {
  /** Starts a session under `id` (a valid id, not taken); resolves once it runs, rejects with why it could not start. */
  create(id: string, config: Config, options?: { baseDir?: string }): Promise<HostedSession>;
  list(): readonly HostedSessionInfo[];
  get(id: string): HostedSessionInfo | undefined;
  /** Stops a session; false when there is none by that id. */
  stop(id: string): Promise<boolean>;
}

/**
 * `directory` with its sessions served by `server`: a created session is added to it, a stopped one
 * removed (its clients closed with a reason), and the client counts are the server's.
 */
export function servedBy(server: MultiSessionServer, directory: HostSessions): HostSessions {
  const withClients = (info: HostedSessionInfo): HostedSessionInfo => ({ ...info, clients: server.clientsOf(info.id) });
  return {
    async create(id, config, options) {
      const session = await directory.create(id, config, options);
      server.add(session);
      return session;
    },
    list: () => directory.list().map(withClients),
    get(id) {
      const info = directory.get(id);
      return info && withClients(info);
    },
    async stop(id) {
      server.remove(id);
      return directory.stop(id);
    },
  };
}
