import type { SettingNames } from '../server/http-front.js';
import { MultiSessionServer, type MultiSessionOptions } from '../server/multi-session-server.js';
import { hostApi } from './host-api.js';
import { servedBy, type HostSessions } from './host-sessions.js';

export interface HostServer {
  readonly server: MultiSessionServer;
  /** The directory given, with its sessions served (create adds, stop removes): what the API drives. */
  readonly sessions: HostSessions;
  /** Stops every session, then the server. */
  close(): Promise<void>;
}

/**
 * A host's server: the sessions of `directory` at /sessions/<id>, the overview at /, and the API at
 * /api/sessions, on one port with the access rules of every neurorx server.
 */
export async function startHostServer(directory: HostSessions, options: Partial<MultiSessionOptions> & { pluginBaseDir?: string }, names?: SettingNames): Promise<HostServer> {
  const { pluginBaseDir, ...serverOptions } = options;
  const server = await MultiSessionServer.start(serverOptions, [], names);
  const sessions = servedBy(server, directory);
  server.use(
    hostApi(sessions, {
      ...(serverOptions.token !== undefined ? { token: serverOptions.token } : {}),
      allowedOrigins: serverOptions.allowedOrigins ?? [],
      ...(pluginBaseDir !== undefined ? { pluginBaseDir } : {}),
    }),
  );
  return {
    server,
    sessions,
    async close() {
      await Promise.allSettled(sessions.list().map((s) => sessions.stop(s.id)));
      await server.close();
    },
  };
}
