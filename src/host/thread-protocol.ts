import type { Config } from '../config/config-schema.js';
import type { ClientMessage, HelloInfo, OutboundMessage, ServerMessage } from '../server/messages.js';

/**
 * What the session host (main thread, session-thread.ts) and a session worker thread
 * (session-worker.ts) say to each other over the worker's MessagePort. Messages are plain objects
 * (structured clone); every session message is tagged with the session id.
 */

/** The plug-ins a session needs loaded in its thread (as a config's `plugins`, resolved from `baseDir`). */
export interface PluginSpecs {
  readonly specs: readonly string[];
  readonly baseDir: string;
}

/** Main thread -> worker. */
export type ToWorker =
  /** Open and start a session; `savedModel`: decode with this model instead of calibrating (the plug-in's forReplay). */
  | { readonly type: 'create'; readonly id: string; readonly config: Config; readonly plugins: PluginSpecs; readonly savedModel?: string }
  /** A client's control message; answered by a `result` with the same requestId. */
  | { readonly type: 'control'; readonly id: string; readonly requestId: number; readonly message: ClientMessage }
  /** The costly topics some attached sink wants now (the session computes the signal only while wanted). */
  | { readonly type: 'wants'; readonly id: string; readonly topics: readonly string[] }
  /** Stop one session (answered by `ended`). */
  | { readonly type: 'stop'; readonly id: string }
  /** Liveness probe (answered by `pong`). */
  | { readonly type: 'ping'; readonly seq: number };

/** Worker -> main thread. */
export type FromWorker =
  /** The thread has loaded its modules and answers pings from now on. */
  | { readonly type: 'ready' }
  /** The session is open and started. */
  | { readonly type: 'opened'; readonly id: string; readonly topics: readonly string[]; readonly hello: HelloInfo; readonly catchUp: readonly ServerMessage[] }
  /** A message the session broadcast (the `stats` message too). */
  | { readonly type: 'message'; readonly id: string; readonly message: OutboundMessage }
  /** The session's hello and catch-up changed (sent after each status message). */
  | { readonly type: 'hello'; readonly id: string; readonly hello: HelloInfo; readonly catchUp: readonly ServerMessage[] }
  /** A model started decoding: its JSON form, for the host to save and restart from. */
  | { readonly type: 'model'; readonly id: string; readonly json: unknown }
  | { readonly type: 'result'; readonly requestId: number; readonly error?: string }
  /** The session ended: stopped, its source ended, or it failed (`error`; also when it could not be opened). */
  | { readonly type: 'ended'; readonly id: string; readonly error?: string }
  /** `decodeMs`: per session, milliseconds spent handling its signal since the thread started. */
  | { readonly type: 'pong'; readonly seq: number; readonly decodeMs: Readonly<Record<string, number>> }
  | { readonly type: 'log'; readonly id?: string; readonly line: string };
