/**
 * The names neurorx uses on a message bus. One place, so that a session host, a worker, a gateway
 * and a user's own subscriber agree.
 *
 * NATS
 *   neurorx.<session>.<type>     every message the session sends over WebSocket, the same JSON
 *                                (with its "v"), e.g. neurorx.lab-1.decision, neurorx.lab-1.status
 *   neurorx.<session>.control    request-reply: a client control message (marker, pause, resume,
 *                                calibration) as JSON; the reply is {"ok":true} or an error message
 *                                {"v":2,"type":"error","message":...}
 *   neurorx.<session>.hello      request-reply: {"hello": <hello message>, "catchUp": [<messages>]},
 *                                what a gateway tells a client that connects
 *   key-value bucket neurorx_sessions   key <session>: the wanted session's config (JSON)
 *   key-value bucket neurorx_leases     key <session>: which worker runs it ({"worker", "since"})
 *   object store     neurorx_models     name <session>: the session's saved model (JSON)
 *
 * MQTT
 *   neurorx/<session>/<type>     commands, decisions, status (retained), QoS 1
 */

/** A message type or any other single subject token: letters, digits, '-' and '_'. */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** A session id: a subject token, and not "eeg" (neurorx.eeg.> carries EEG frames, devices/nats). */
export const SESSION_ID = /^(?!eeg$)[A-Za-z0-9_-]{1,64}$/;

/** Throws naming the id when it cannot be a session id. */
export function checkSessionId(id: string, what = 'session id'): string {
  if (!SESSION_ID.test(id)) throw new Error(`${what} ${JSON.stringify(id.slice(0, 80))}: use 1-64 letters, digits, '-' or '_' (not "eeg": reserved for EEG streams)`);
  return id;
}

/** A config's name as a session id: runs of characters an id cannot hold become '-' (default of bus.*.session). */
export function sessionIdOf(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 64);
  return id.length > 0 && id !== 'eeg' ? id : 'neurorx';
}

export const natsSubjects = {
  message: (session: string, type: string): string => `neurorx.${session}.${type}`,
  /** Every message of one session (a gateway subscribes to it). */
  allMessages: (session: string): string => `neurorx.${session}.>`,
  control: (session: string): string => `neurorx.${session}.control`,
  hello: (session: string): string => `neurorx.${session}.hello`,
} as const;

/** Message types that are requests to the session, not messages from it. */
export const REQUEST_SUBJECT_TYPES: ReadonlySet<string> = new Set(['control', 'hello']);

export const BUCKETS = { sessions: 'neurorx_sessions', leases: 'neurorx_leases', models: 'neurorx_models' } as const;

export const mqttTopic = (session: string, type: string): string => `neurorx/${session}/${type}`;
