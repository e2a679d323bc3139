import { connectAsync, type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { PROTOCOL_VERSION, type OutboundMessage, type ServerMessage, type StatusMessage, type Topic } from '../server/messages.js';
import type { MessageSink } from '../session/run-session.js';
import { OfflineBuffer } from './offline-buffer.js';
import type { BusReport, SessionBus, BusSession } from './session-bus.js';
import { checkSessionId, mqttTopic } from './subjects.js';

export interface MqttBusOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  /** The session's id on the bus (one topic level). */
  session: string;
  username?: string;
  password?: string;
  /** QoS of every publish (default 1). */
  qos?: 0 | 1 | 2;
  /** Message types published (default command, decision, status); status is retained. */
  types?: readonly string[];
  /** While the broker is unreachable, messages are kept up to this many (oldest dropped beyond; default 1000). */
  bufferMessages?: number;
}

const DEFAULT_TYPES = ['command', 'decision', 'status'];
/** How long close() waits for the broker to acknowledge what is pending. */
const END_TIMEOUT_MS = 2000;

/**
 * Publishes the configured message types of `core` on `neurorx/<session>/<type>` (the WebSocket
 * frame's JSON), status retained, so a controller that subscribes later learns the session's
 * state at once. mqtt.js reconnects by itself but queues without bound while offline: here, while
 * the client is not connected, messages wait in a bounded OfflineBuffer (oldest dropped first,
 * counted) and are published in order once it is back, followed by the current status; its
 * offline queue is not used (queueQoSZero false). The broker publishes a retained "stopped"
 * status if the process vanishes (last will). Rejects when the broker cannot be reached at first.
 */
export async function attachMqttBus(core: BusSession, options: MqttBusOptions, log: (line: string) => void, report?: BusReport): Promise<SessionBus> {
  const session = checkSessionId(options.session, 'bus.mqtt.session');
  const qos = options.qos ?? 1;
  const types = new Set(options.types ?? DEFAULT_TYPES);
  const statusTopic = mqttTopic(session, 'status');
  const envelope = (message: OutboundMessage | ServerMessage): string => JSON.stringify({ v: PROTOCOL_VERSION, ...message });
  const stopped = (detail: string): string => envelope({ type: 'status', state: 'stopped', detail });
  let client: MqttClient;
  try {
    client = await connectAsync(
      options.url,
      {
        clientId: `neurorx-${session}-${randomBytes(4).toString('hex')}`,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
        queueQoSZero: false,
        ...(types.has('status') ? { will: { topic: statusTopic, payload: Buffer.from(stopped('the neurorx process went away (MQTT last will)')), qos, retain: true } } : {}),
      },
      false,
    );
  } catch (e) {
    throw new Error(`MQTT bus: cannot connect to ${options.url}: ${(e as Error).message}`);
  }
  log(`MQTT bus: connected to ${options.url}; session "${session}" on neurorx/${session}/{${[...types].join(',')}}`);

  const buffer = new OfflineBuffer<{ topic: string; payload: string; retain: boolean }>(options.bufferMessages ?? 1000, Number.MAX_SAFE_INTEGER);
  let droppedTotal = 0;
  let warnedFull = false;
  let downSince = 0;
  let closed = false;

  const send = (topic: string, payload: string, retain: boolean): void => {
    if (!client.connected) {
      buffer.push({ topic, payload, retain }, payload.length);
      if (buffer.dropped > 0 && !warnedFull) {
        warnedFull = true;
        log(`MQTT bus: the outage buffer is full (${options.bufferMessages ?? 1000} messages): dropping the oldest`);
      }
      return;
    }
    client.publish(topic, payload, { qos, retain }, (err) => {
      if (err && !closed) {
        droppedTotal++;
        log(`MQTT bus: a message on ${topic} was not delivered: ${err.message}`);
      }
    });
  };

  const publish = (message: OutboundMessage | ServerMessage): void => {
    if (!types.has(message.type)) return;
    send(mqttTopic(session, message.type), envelope(message), message.type === 'status');
  };
  /** The session's state now, as a status (retained: what a controller that subscribes later is told). */
  const currentStatus = (): StatusMessage => {
    const h = core.hello();
    return { type: 'status', state: h.state, detail: h.detail ?? h.state, ...(h.classes ? { classes: h.classes } : {}) };
  };

  const sink: MessageSink = {
    broadcast: publish,
    broadcastEach: (topic: Topic, build: (dropped: number) => ServerMessage) => {
      if (types.has('stats') && topic === 'status') publish(build(droppedTotal + buffer.dropped));
    },
    wants: (topic: Topic) => types.has(topic) || (topic === 'signal' && types.has('spectrum')),
  };

  const outage = (detail: string, warning: string): void => {
    log(detail);
    const message: StatusMessage = { type: 'status', state: core.hello().state, detail, warning };
    report?.(message);
    if (client.connected && types.has('status')) client.publish(statusTopic, envelope(message), { qos, retain: false });
  };

  client.on('close', () => {
    if (closed || downSince > 0) return;
    downSince = Date.now();
    warnedFull = false;
    outage(`MQTT bus: the connection to ${options.url} closed; reconnecting, messages kept meanwhile (up to ${options.bufferMessages ?? 1000})`, 'MQTT bus: disconnected');
  });
  client.on('connect', () => {
    if (downSince === 0) return;
    const seconds = ((Date.now() - downSince) / 1000).toFixed(1);
    downSince = 0;
    const { items, dropped } = buffer.drain();
    droppedTotal += dropped;
    for (const m of items) send(m.topic, m.payload, m.retain);
    outage(
      `MQTT bus: reconnected to ${options.url} after ${seconds} s; ${items.length} messages kept meanwhile were sent, ${dropped} dropped${dropped > 0 ? ' (the oldest)' : ''}`,
      `MQTT bus: an outage of ${seconds} s${dropped > 0 ? `, ${dropped} messages lost` : ''}`,
    );
    // A broker that restarted without persistence forgot the retained status.
    if (types.has('status')) send(statusTopic, envelope(currentStatus()), true);
  });
  // Failed reconnection attempts (one a second) are not logged one by one: the outage is.
  client.on('error', (e) => {
    if (!closed && downSince === 0) log(`MQTT bus: ${e.message}`);
  });

  if (types.has('status')) send(statusTopic, envelope(currentStatus()), true);
  const detach = core.attach(sink);
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        detach();
        if (types.has('status') && client.connected) send(statusTopic, stopped('the session stopped'), true);
        closed = true;
        // end() waits for in-flight QoS 1/2 messages; a broker that is gone is not waited for long.
        const ended = client.endAsync(false);
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), END_TIMEOUT_MS).unref());
        if ((await Promise.race([ended.then(() => 'ended' as const), timer])) === 'timeout') await client.endAsync(true);
        const lost = droppedTotal + buffer.length + buffer.dropped;
        if (lost > 0) log(`MQTT bus: closed; ${lost} messages were not delivered`);
      })()),
  };
}
