import type { BusConfig } from '../config/bus-schema.js';
import type { SessionCore } from '../session/run-session.js';
import { attachMqttBus } from './mqtt-session-bus.js';
import { attachNatsBus } from './nats-session-bus.js';
import type { BusReport, SessionBus } from './session-bus.js';
import { sessionIdOf } from './subjects.js';

/** NATS servers from a config value or $NEURORX_NATS ("a,b" or one URL). */
export function natsServers(servers: string | readonly string[] | undefined, env = process.env.NEURORX_NATS): string[] {
  const list = servers === undefined ? (env ?? '').split(',') : typeof servers === 'string' ? servers.split(',') : [...servers];
  const out = list.map((s) => s.trim()).filter((s) => s.length > 0);
  if (out.length === 0) throw new Error('bus.nats.servers: no NATS server given (set bus.nats.servers, --nats or NEURORX_NATS)');
  return out;
}

/**
 * Attaches `core` to the buses `bus` configures (none: a no-op); one close() for all. When one
 * cannot connect, those already attached are closed and the error names the bus.
 */
export async function attachBuses(core: SessionCore, bus: BusConfig | undefined, log: (line: string) => void, report?: BusReport): Promise<SessionBus> {
  const attached: SessionBus[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(attached.map((b) => b.close()));
  };
  try {
    if (bus?.nats) {
      const { servers, session, ...rest } = bus.nats;
      attached.push(await attachNatsBus(core, { ...rest, servers: natsServers(servers), session: session ?? sessionIdOf(core.config.name) }, log, report));
    }
    if (bus?.mqtt) {
      const { session, ...rest } = bus.mqtt;
      attached.push(await attachMqttBus(core, { ...rest, session: session ?? sessionIdOf(core.config.name) }, log, report));
    }
  } catch (e) {
    await close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= close()) };
}
