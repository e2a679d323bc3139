import type { HostedSession } from '../host/hosted-session.js';
import type { StatusMessage } from '../server/messages.js';

/** What a bus needs of a session: a SessionCore in its own thread, or a HostedSession seen from a host's main thread. */
export type BusSession = Pick<HostedSession, 'attach' | 'hello' | 'catchUp' | 'topics'> & { control(message: Parameters<HostedSession['control']>[0]): unknown };

/** A session attached to a message bus. */
export interface SessionBus {
  /** Detaches from the session, sends what is pending (briefly) and closes the connection. */
  close(): Promise<void>;
}

/** Tells the session's other clients about the bus (e.g. a BciServer's `hub.broadcast`). */
export type BusReport = (message: StatusMessage) => void;
