import { z } from 'zod';

/**
 * The WebSocket protocol: every message is one JSON object with a `type`. These zod schemas are
 * the source of truth; `messageJsonSchemas()` exports them as JSON Schema for client authors.
 */
export const PROTOCOL_VERSION = 1;

export const helloMessage = z.object({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  server: z.string().describe('software and version, e.g. "neurorx 0.1.0"'),
  pipeline: z.object({ kind: z.string(), name: z.string() }),
  stream: z.object({
    name: z.string(),
    type: z.string(),
    sampleRate: z.number(),
    channels: z.array(z.string()),
  }),
  state: z.enum(['calibrating', 'running', 'stopped']),
  classes: z.array(z.string()).optional().describe('known once the decoder is trained'),
});

export const decisionMessage = z.object({
  type: z.literal('decision'),
  seq: z.number().int().nonnegative().describe('running number of the decision, from 0'),
  label: z.string().describe('the most probable class'),
  probabilities: z.record(z.string(), z.number().min(0).max(1)).describe('probability of every class'),
  timestamp: z.number().describe('stream time (s) of the last sample of the decided window'),
  latencyMs: z.number().describe('ms from that sample reaching neurorx to the decision'),
  smoothed: z.record(z.string(), z.number().min(0).max(1)).optional().describe('with a control stage: smoothed probabilities'),
  state: z.enum(['rest', 'dwelling', 'fired', 'refractory']).optional().describe('with a control stage: where the command gate stands'),
  candidate: z.string().nullable().optional().describe('with a control stage: the class being dwelt on'),
  command: z.string().optional().describe('with a control stage: the command this decision fired'),
});

export const commandMessage = z.object({
  type: z.literal('command'),
  command: z.string().describe('the command mapped from the class (pipeline.control.commands)'),
  label: z.string().describe('the class that fired it'),
  seq: z.number().int().nonnegative().describe('the decision that fired it'),
  timestamp: z.number().describe('stream time (s)'),
});

export const cueMessage = z.object({
  type: z.literal('cue'),
  label: z.string().describe('the class the user is cued to imagine'),
  marker: z.string().describe('the marker value that carried the cue'),
  timestamp: z.number().describe('stream time (s) of the cue'),
});

export const statusMessage = z.object({
  type: z.literal('status'),
  state: z.enum(['calibrating', 'running', 'stopped']),
  detail: z.string(),
  trials: z.record(z.string(), z.number().int()).optional(),
  calibrationAccuracy: z.number().nullable().optional(),
  classes: z.array(z.string()).optional(),
  dropped: z.number().int().optional().describe('messages dropped for this client because it read too slowly'),
});

export const errorMessage = z.object({
  type: z.literal('error'),
  message: z.string(),
  /** The offending part of the client's message, when there is one. */
  path: z.string().optional(),
});

export const pongMessage = z.object({ type: z.literal('pong'), id: z.union([z.string(), z.number()]).optional() });

export const serverMessage = z.discriminatedUnion('type', [helloMessage, decisionMessage, commandMessage, cueMessage, statusMessage, errorMessage, pongMessage]);

export const pingMessage = z.object({ type: z.literal('ping'), id: z.union([z.string(), z.number()]).optional() }).strict();

export const markerMessage = z
  .object({
    type: z.literal('marker'),
    value: z.string().min(1).describe('marker value, e.g. a cue ("left") matched against pipeline.events'),
    time: z.number().optional().describe('stream time (s); default: the next sample to arrive'),
  })
  .strict();

/** What clients may send. */
export const clientMessage = z.discriminatedUnion('type', [pingMessage, markerMessage]);

export type HelloMessage = z.infer<typeof helloMessage>;
export type DecisionMessage = z.infer<typeof decisionMessage>;
export type StatusMessage = z.infer<typeof statusMessage>;
export type ErrorMessage = z.infer<typeof errorMessage>;
export type ServerMessage = z.infer<typeof serverMessage>;
export type ClientMessage = z.infer<typeof clientMessage>;

/** Every message's JSON Schema, keyed by message type and direction. */
export function messageJsonSchemas(): Record<string, unknown> {
  const server = { hello: helloMessage, decision: decisionMessage, command: commandMessage, cue: cueMessage, status: statusMessage, error: errorMessage, pong: pongMessage };
  const client = { ping: pingMessage, marker: markerMessage };
  const toSchema = (s: z.ZodType): unknown => z.toJSONSchema(s, { io: 'output' });
  return {
    protocol: PROTOCOL_VERSION,
    serverToClient: Object.fromEntries(Object.entries(server).map(([k, s]) => [k, toSchema(s)])),
    clientToServer: Object.fromEntries(Object.entries(client).map(([k, s]) => [k, toSchema(s)])),
  };
}

/** Parses an inbound frame; returns the message or an error message naming the problem. */
export function parseClientMessage(raw: string): ClientMessage | ErrorMessage {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return { type: 'error', message: `message is not JSON: ${(e as Error).message}` };
  }
  const parsed = clientMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue.path.join('.');
  return { type: 'error', message: `invalid message${path ? ` at "${path}"` : ''}: ${issue.message}`, ...(path ? { path } : {}) };
}
