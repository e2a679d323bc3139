import { connect, Events, type NatsConnection } from 'nats';

/**
 * A NATS connection for EEG streaming: every server URL given (the client fails over between
 * them), reconnecting forever once connected. The first connection is not retried: a wrong URL
 * is a clear error at once, not a silent wait.
 */
export async function connectNats(servers: readonly string[], label: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: [...servers], name: label, maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 50, pingInterval: 5000, maxPingOut: 3 });
  } catch (e) {
    throw new Error(`${label}: cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`);
  }
}

/** Calls `onChange` when the connection drops and when it is back (with the server's address). */
export function watchConnection(nc: NatsConnection, onChange: (up: boolean, server: string) => void): void {
  void (async () => {
    for await (const s of nc.status()) {
      // On these two events `data` is the server's address.
      const server = typeof s.data === 'string' ? s.data : nc.getServer();
      if (s.type === Events.Disconnect) onChange(false, server);
      else if (s.type === Events.Reconnect) onChange(true, server);
    }
  })().catch(() => {});
}
