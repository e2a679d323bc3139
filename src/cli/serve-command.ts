import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/config-schema.js';
import { SessionHost } from '../host/session-host.js';
import { threadedSessions } from '../host/threaded-sessions.js';
import { startHostServer } from '../host/host-server.js';
import type { HostSessions } from '../host/host-sessions.js';
import { checkSessionId } from '../bus/subjects.js';
import { withServerOptions, withThreadOptions } from './cli-args.js';

export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  stateDir?: string;
  sessionsPerThread?: number;
  maxHeapMb?: number;
}

/** A session id from a config file's name: `lab-1.json` -> `lab-1`. */
export function sessionIdOfFile(file: string): string {
  const stem =
    path
      .basename(file)
      .replace(/\.json$/i, '')
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 64) || 'session';
  return checkSessionId(stem, `${file}: session id`);
}

/** The sessions of `neurorx serve`: each in a worker thread of its own unless --sessions-per-thread packs them. */
function openSessions(o: ServeOptions, log: (line: string) => void): { sessions: HostSessions; host: SessionHost } {
  const host = new SessionHost({
    log,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.sessionsPerThread ? { sessionsPerThread: o.sessionsPerThread } : {}),
    ...(o.maxHeapMb !== undefined ? { maxHeapMb: o.maxHeapMb } : {}),
  });
  return { sessions: threadedSessions(host), host };
}

/** Registers `neurorx serve`: many sessions on one machine, one port, an HTTP API to create and stop them. */
export function registerServeCommand(program: Command): void {
  withThreadOptions(
    withServerOptions(
      program
        .command('serve')
        .description('serve many sessions on one port: WebSocket and dashboard at /sessions/<id>, an overview at /, an HTTP API at /api/sessions')
        .argument('[configs...]', 'config files, each started as a session (id: the file name without .json)'),
    ),
    'where sessions keep their saved models to restart from',
  ).action(async (files: string[], o: ServeOptions) => {
    const log = (line: string): void => console.error(line);
    const ids = files.map(sessionIdOfFile);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) throw new InvalidArgumentError(`two config files make the session id "${dup}": rename one`);
    const configs = await Promise.all(files.map((f) => loadConfig(f)));
    const token = o.token ?? process.env.NEURORX_TOKEN;
    const threads = openSessions(o, log);
    const host = await startHostServer(threads.sessions, { host: o.host, port: o.port, ...(token ? { token } : {}) }, { token: '--token', host: '--host', port: '--port' });
    const { address } = host.server;
    log(`neurorx serve: http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/ (sessions at /sessions/<id>, API at /api/sessions)`);
    try {
      for (const [i, config] of configs.entries()) {
        await host.sessions.create(ids[i], config, { baseDir: path.dirname(path.resolve(files[i])) });
        log(`session ${ids[i]} (${config.name}) at /sessions/${ids[i]}/`);
      }
    } catch (e) {
      await host.close();
      await threads.host.close();
      throw e;
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await host.close();
    await threads.host.close();
  });
}
