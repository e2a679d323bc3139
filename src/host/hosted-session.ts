import type { ClientMessage, HelloInfo, ServerMessage } from '../server/messages.js';
import type { MessageSink } from '../session/run-session.js';

/**
 * The contract between a session host (sessions running in worker threads, see session-host.ts)
 * and what serves them (the host's HTTP/WebSocket server, a worker's bus publisher).
 */

/** One line of the host's session list (GET /api/sessions). */
export interface HostedSessionInfo {
  readonly id: string;
  /** The config's name. */
  readonly name: string;
  /** The pipeline kind. */
  readonly kind: string;
  /** calibrating, running, paused, stopped; "starting" until its thread has opened it, "restarting" while it waits to be started again. */
  readonly state: HelloInfo['state'] | 'starting' | 'restarting';
  /** WebSocket clients connected to it (on this host). */
  readonly clients: number;
  /** Over the last second. */
  readonly decisionsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /** Share of one core its thread used over the last second (0..1; a thread shared by several sessions: split by their decode time). */
  readonly cpu: number;
  /** Times the host restarted it after a failure. */
  readonly restarts: number;
  /** Why it last failed, when it did. */
  readonly lastError?: string;
  /** Whether it decodes with a model saved by an earlier run (a restart does not calibrate again). */
  readonly fromSavedModel: boolean;
  /** Which worker thread runs it. */
  readonly thread: number;
}

/** A session as its servers see it, wherever it runs. */
export interface HostedSession {
  readonly id: string;
  /** Every topic the session offers. */
  readonly topics: readonly string[];
  /** What a client that connects now is told first (the latest the session reported). */
  hello(): HelloInfo;
  /** What a client that connects now must also know (the source's losses so far). */
  catchUp(): readonly ServerMessage[];
  /** A client's control message; rejects with the session's answer when it cannot be done. */
  control(message: ClientMessage): Promise<void>;
  /**
   * Sends the session's messages to `sink` too, until the returned function is called. The sink's
   * `wants('signal')` is asked about once a second (the signal is only computed while wanted).
   */
  attach(sink: MessageSink): () => void;
}
