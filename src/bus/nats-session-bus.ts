import { connect, Events, type Msg, type NatsConnection, type Status, type Subscription } from 'nats';
import { PROTOCOL_VERSION, topicOf, type OutboundMessage, type ServerMessage, type StatusMessage, type Topic } from '../server/messages.js';
import type { MessageSink } from '../session/run-session.js';
import { answerControl, helloReply } from './bus-requests.js';
import { OfflineBuffer } from './offline-buffer.js';
import type { BusReport, BusSession, SessionBus } from './session-bus.js';
import { checkSessionId, natsSubjects, REQUEST_SUBJECT_TYPES, SESSION_ID } from './subjects.js';

export interface NatsBusOptions {
  /** Server URLs; the client connects to any of them and reconnects forever. */
  servers: readonly string[];
  /** A connection to use instead (a worker's, shared by its sessions; not closed by close()). */
  connection?: NatsConnection;
  /** The session's id on the bus (one subject token). */
  session: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Also publish the costly `signal` topic (signal frames, spectra). */
  signal?: boolean;
  /** While disconnected, messages are kept up to this many bytes (oldest dropped beyond; default 8 MiB). */
  bufferBytes?: number;
}

const DEFAULT_BUFFER_BYTES = 8 * 1024 * 1024;
/** How long close() waits for pending publishes to reach the server. */
const DRAIN_TIMEOUT_MS = 2000;

/**
 * Publishes every message of `core` on `neurorx.<session>.<type>` (the WebSocket frame's JSON) and
 * answers `neurorx.<session>.control` and `.hello` requests. Publishing never blocks or throws
 * into the session: while the connection is down (nats.js 2.x discards what was written to a
 * dropped connection at each reconnect attempt, and bounds nothing) messages wait in a bounded
 * OfflineBuffer, oldest dropped first, and are sent when the connection is back; the outage is
 * logged and reported. Rejects when no server can be reached at first.
 */
export async function attachNatsBus(core: BusSession, options: NatsBusOptions, log: (line: string) => void, report?: BusReport): Promise<SessionBus> {
  const session = checkSessionId(options.session, 'bus.nats.session');
  const servers = [...options.servers];
  const owned = options.connection === undefined;
  let nc: NatsConnection;
  if (options.connection) nc = options.connection;
  else
    try {
      nc = await connect({
        servers,
        name: `neurorx ${session}`,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        ...(options.user !== undefined ? { user: options.user, pass: options.pass ?? '' } : {}),
        ...(options.token !== undefined ? { token: options.token } : {}),
      });
    } catch (e) {
      throw new Error(`NATS bus: cannot connect to ${servers.join(', ')}: ${(e as Error).message}`);
    }
  log(`NATS bus: connected to ${nc.getServer()}; session "${session}" on ${natsSubjects.allMessages(session)}`);

  const encoder = new TextEncoder();
  const signal = options.signal === true;
  const buffer = new OfflineBuffer<{ subject: string; data: Uint8Array }>(Number.MAX_SAFE_INTEGER, options.bufferBytes ?? DEFAULT_BUFFER_BYTES);
  let connected = true;
  let downSince = 0;
  let droppedTotal = 0;
  let warnedFull = false;
  let closed = false;
  const subjects = new Map<string, string | null>();

  /** The subject of a message type, or null for a type that cannot be one (never a request subject). */
  const subjectOf = (type: string): string | null => {
    let subject = subjects.get(type);
    if (subject === undefined) {
      subject = SESSION_ID.test(type) && !REQUEST_SUBJECT_TYPES.has(type) ? natsSubjects.message(session, type) : null;
      if (subject === null) log(`NATS bus: messages of type ${JSON.stringify(type.slice(0, 64))} are not published (not a valid subject token)`);
      subjects.set(type, subject);
    }
    return subject;
  };

  const send = (subject: string, data: Uint8Array): void => {
    if (!connected) {
      buffer.push({ subject, data }, data.length);
      if (buffer.dropped > 0 && !warnedFull) {
        warnedFull = true;
        log(`NATS bus: the outage buffer is full (${options.bufferBytes ?? DEFAULT_BUFFER_BYTES} bytes): dropping the oldest messages`);
      }
      return;
    }
    try {
      nc.publish(subject, data);
    } catch (e) {
      droppedTotal++;
      if (!closed) log(`NATS bus: a message on ${subject} was dropped: ${(e as Error).message}`);
    }
  };

  const publish = (message: OutboundMessage | ServerMessage): void => {
    if (!signal && topicOf(message.type) === 'signal') return;
    const subject = subjectOf(message.type);
    if (subject) send(subject, encoder.encode(JSON.stringify({ v: PROTOCOL_VERSION, ...message })));
  };

  const sink: MessageSink = {
    broadcast: publish,
    broadcastEach: (topic: Topic, build: (dropped: number) => ServerMessage) => {
      if (signal || topic !== 'signal') publish(build(droppedTotal + buffer.dropped));
    },
    wants: (topic: Topic) => signal || topic !== 'signal',
  };

  const published = core.topics.filter((t) => signal || t !== 'signal');
  /** Answers a request; a connection that closed meanwhile loses the answer, nothing else. */
  const answer = (msg: Msg, value: unknown): void => {
    if (!msg.reply) return;
    try {
      msg.respond(encoder.encode(JSON.stringify(value)));
    } catch (e) {
      if (!closed) log(`NATS bus: a reply on ${msg.subject} was lost: ${(e as Error).message}`);
    }
  };
  const subscriptions: Subscription[] = [
    nc.subscribe(natsSubjects.control(session), {
      callback: (err, msg) => {
        if (err) return log(`NATS bus: control subscription: ${err.message}`);
        void answerControl(core, msg.data).then((reply) => {
          answer(msg, reply);
        });
      },
    }),
    nc.subscribe(natsSubjects.hello(session), {
      callback: (err, msg) => {
        if (err) return log(`NATS bus: hello subscription: ${err.message}`);
        answer(msg, helloReply(core, published));
      },
    }),
  ];

  const outage = (detail: string, warning: string): void => {
    log(detail);
    const message: StatusMessage = { type: 'status', state: core.hello().state, detail, warning };
    report?.(message);
    if (connected) publish(message);
  };

  /** A status event's data: a server URL or an error text (a servers update is described, not dumped). */
  const statusData = (s: Status): string => (typeof s.data === 'object' ? 'servers changed' : String(s.data));

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect && connected) {
        connected = false;
        downSince = Date.now();
        warnedFull = false;
        outage(`NATS bus: disconnected from ${statusData(s)}; reconnecting, messages kept meanwhile (up to ${options.bufferBytes ?? DEFAULT_BUFFER_BYTES} bytes)`, 'NATS bus: disconnected');
      } else if (s.type === Events.Reconnect && !connected) {
        connected = true;
        const { items, dropped } = buffer.drain();
        droppedTotal += dropped;
        for (const { subject, data } of items) send(subject, data);
        const seconds = ((Date.now() - downSince) / 1000).toFixed(1);
        outage(
          `NATS bus: reconnected to ${statusData(s)} after ${seconds} s; ${items.length} messages kept meanwhile were sent, ${dropped} dropped${dropped > 0 ? ' (the oldest)' : ''}`,
          `NATS bus: an outage of ${seconds} s${dropped > 0 ? `, ${dropped} messages lost` : ''}`,
        );
      } else if (s.type === Events.Error || s.type === Events.LDM) {
        log(`NATS bus: ${s.type}: ${statusData(s)}`);
      }
    }
  })().catch((e: unknown) => log(`NATS bus: status: ${(e as Error).message}`));

  void nc.closed().then((e) => {
    if (!closed) log(`NATS bus: the connection closed${e ? `: ${e.message}` : ''}; nothing more is published`);
    connected = false;
  });

  const detach = core.attach(sink);
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        detach();
        for (const sub of subscriptions) sub.unsubscribe();
        closed = true;
        if (connected && !nc.isClosed()) {
          await Promise.race([nc.flush().catch(() => {}), new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS).unref())]);
        }
        if (owned && !nc.isClosed()) await nc.close();
        const lost = droppedTotal + buffer.length + buffer.dropped;
        if (lost > 0) log(`NATS bus: closed; ${lost} messages were not delivered`);
      })()),
  };
}
