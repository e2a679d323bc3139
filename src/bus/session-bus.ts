import type { StatusMessage } from '../server/messages.js';

/** A session attached to a message bus. */
export interface SessionBus {
  /** Detaches from the session, sends what is pending (briefly) and closes the connection. */
  close(): Promise<void>;
}

/** Tells the session's other clients about the bus (e.g. a BciServer's `hub.broadcast`). */
export type BusReport = (message: StatusMessage) => void;
