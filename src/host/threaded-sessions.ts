import type { Config } from '../config/config-schema.js';
import type { HostedSession, HostedSessionInfo } from './hosted-session.js';
import type { HostSessions } from './host-sessions.js';
import type { SessionHost } from './session-host.js';

/** The sessions of a SessionHost (worker threads) as the host's HTTP API drives them. */
export function threadedSessions(host: SessionHost): HostSessions {
  return {
    create: (id: string, config: Config, options?: { baseDir?: string }): Promise<HostedSession> => host.create(id, config, options?.baseDir ? { baseDir: options.baseDir } : {}),
    list: (): readonly HostedSessionInfo[] => host.list(),
    get: (id: string): HostedSessionInfo | undefined => host.info(id),
    async stop(id: string): Promise<boolean> {
      if (!host.info(id)) return false;
      await host.stop(id);
      return true;
    },
  };
}
