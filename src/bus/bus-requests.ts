import { CLIENT_MESSAGE_LIMITS, parseClientMessage, PROTOCOL_VERSION, type ClientMessage, type ErrorMessage } from '../server/messages.js';
import type { SessionCore } from '../session/run-session.js';

/**
 * The two requests a session answers on a bus (`neurorx.<session>.control`, `.hello`): their
 * payloads in, their replies out. Transport-free, so a NATS bus, a gateway and a test share them.
 */

/** Largest control request accepted, in bytes (as the WebSocket maxPayload). */
export const CONTROL_MAX_BYTES = CLIENT_MESSAGE_LIMITS.maxLength;

/** The messages that steer a session; the rest of the WebSocket protocol is about one connection. */
const CONTROL_TYPES: ReadonlySet<string> = new Set(['marker', 'pause', 'resume', 'calibration']);

export type ControlReply = { ok: true } | ({ v: typeof PROTOCOL_VERSION } & ErrorMessage);

const utf8 = new TextDecoder('utf-8', { fatal: true });

const refuse = (message: string, path?: string): ControlReply => ({ v: PROTOCOL_VERSION, type: 'error', message, ...(path ? { path } : {}) });

/** A control request's message, or the error reply naming what is wrong with it. */
export function parseControlRequest(data: Uint8Array): { message: ClientMessage } | { refused: ControlReply } {
  if (data.length > CONTROL_MAX_BYTES) return { refused: refuse(`message refused: ${data.length} bytes is more than the ${CONTROL_MAX_BYTES} accepted`) };
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { refused: refuse('message is not UTF-8 text') };
  }
  const message = parseClientMessage(text);
  if (message.type === 'error') return { refused: { v: PROTOCOL_VERSION, ...message } };
  if (!CONTROL_TYPES.has(message.type)) {
    const why = `"${message.type}" is not a control message on the bus (send marker, pause, resume or calibration; subscribe to neurorx.<session>.<type> for messages)`;
    return { refused: refuse(why, 'type') };
  }
  return { message };
}

/** Validates a control request and hands it to the session; never throws (a refusal is the reply). */
export async function answerControl(core: Pick<SessionCore, 'control'>, data: Uint8Array): Promise<ControlReply> {
  const request = parseControlRequest(data);
  if ('refused' in request) return request.refused;
  try {
    // A session in another thread or process may answer later (a promise).
    await (core.control(request.message) as unknown);
    return { ok: true };
  } catch (e) {
    return refuse((e as Error).message);
  }
}

/** The reply to a hello request: what a client connecting now is told first, in envelopes. */
export function helloReply(core: Pick<SessionCore, 'hello' | 'catchUp' | 'topics'>, subscribed: readonly string[]): { hello: Record<string, unknown>; catchUp: Record<string, unknown>[] } {
  return {
    hello: { v: PROTOCOL_VERSION, ...core.hello(), topics: [...core.topics], subscribed: [...subscribed] },
    catchUp: core.catchUp().map((m) => ({ v: PROTOCOL_VERSION, ...m })),
  };
}
