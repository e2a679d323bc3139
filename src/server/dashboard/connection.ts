// The dashboard's connection to the session that served it, through the client library
// (src/client): reconnection with backoff, re-subscription and message types are the client's.
import { NeurorxClient } from '../../client/neurorx-client.js';
import { pageServer } from '../../client/page-server.js';
import type { ServerMessage } from '../../client/protocol-types.js';
import type { SessionControls } from './session-controls.js';

// Callbacks, not methods: `message` is handed to the client as it is.
export interface ConnectionEvents {
  message: (m: ServerMessage) => void;
  /** true once a connection's hello arrived, false when it dropped (a retry follows). */
  connected: (up: boolean) => void;
  /** An error from the session, or a problem the client noticed. */
  problem: (text: string) => void;
}

export function connectToSession(events: ConnectionEvents): SessionControls {
  const client = new NeurorxClient();
  client.on('message', events.message);
  client.on('hello', () => events.connected(true));
  client.on('close', () => events.connected(false));
  client.on('error', (e) => events.problem(e.message));
  const { url, token } = pageServer(location);
  // Retries until the server answers (close() is never called): this promise does not reject.
  void client.connect(url, { ...(token ? { token } : {}), reconnect: { initialDelayMs: 500, maxDelayMs: 5000 } });
  // The server's default topics and the raw signal, after every reconnection too.
  client.subscribe(['signal']);
  return {
    calibrate: () => client.startCalibration(),
    stopCalibration: () => client.stopCalibration(),
    pause: () => client.pause(),
    resume: () => client.resume(),
  };
}
