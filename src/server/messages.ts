import { z } from 'zod';
import { JsonLimitError, parseBoundedJson, type JsonLimits } from '../util/bounded-json.js';
import { issueField } from '../util/zod-issues.js';
import { emotionMessage as emotionMessageBody } from '../../pipelines/emotion/messages.js';
import { retrievalMessage as retrievalMessageBody } from '../../pipelines/meg/messages.js';
import type { PipelineMessage } from '../../pipelines/pipeline-plugin.js';
import type { PipelineRegistry } from '../../pipelines/registry.js';

/**
 * The WebSocket protocol: every message is one JSON object, an envelope `{ "v": 2, "type": ...,
 * ... }`. These zod schemas are the source of truth; `messageJsonSchemas()` exports them as JSON
 * Schema for client authors (`neurorx schema`, `/schema.json`). Types for clients that must not
 * load zod (the browser client) are in protocol-types.ts, checked against these.
 */
export const PROTOCOL_VERSION = 2;

/**
 * What a client can subscribe to: the core topics and the built-in pipelines' messages; a server
 * also offers the message types of the plug-ins it runs (`offeredTopics`). `status` (with hello,
 * error, pong) is on by default, `signal` is opt-in.
 */
export const TOPICS = ['decision', 'command', 'cue', 'status', 'signal', 'retrieval', 'emotion'] as const;
export type BuiltinTopic = (typeof TOPICS)[number];
/** A topic: a built-in one or a plug-in's message type. */
export type Topic = BuiltinTopic | (string & {});

/** Every topic a server running the pipelines of `registry` offers. */
export function offeredTopics(registry: PipelineRegistry): string[] {
  return [...new Set<string>([...TOPICS, ...Object.keys(registry.messageSchemas())])];
}

/** The topics a new client has: all but `signal` (and its spectra), which cost a frame a second each. */
export function defaultTopics(offered: readonly string[]): string[] {
  return offered.filter((t) => t !== 'signal');
}

const v = z.literal(PROTOCOL_VERSION).describe('protocol version of the envelope');
const sessionState = z.enum(['calibrating', 'running', 'paused', 'stopped']);
const probabilities = z.record(z.string(), z.number().min(0).max(1));

export const helloMessage = z.object({
  v,
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
  state: sessionState,
  classes: z.array(z.string()).optional().describe('known once the decoder is trained'),
  detail: z.string().optional().describe('the last status detail, so a late joiner sees what the session is doing'),
  trials: z.record(z.string(), z.number().int()).optional().describe('while calibrating: trials collected per class so far'),
  topics: z.array(z.string()).describe('every topic this server offers: the core ones and the message types of its pipeline'),
  subscribed: z.array(z.string()).describe("this client's subscriptions"),
});

export const decisionMessage = z.object({
  v,
  type: z.literal('decision'),
  seq: z.number().int().nonnegative().describe('running number of the decision, from 0'),
  label: z.string().describe('the most probable class (with a control stage: the confident class or the rest label)'),
  probabilities: probabilities.describe('probability of every class'),
  timestamp: z.number().describe('stream time (s) of the last sample of the decided window'),
  latencyMs: z.number().describe('ms from that sample reaching neurorx to the decision'),
  smoothed: probabilities.optional().describe('with a control stage: smoothed probabilities'),
  state: z.enum(['rest', 'dwelling', 'fired', 'refractory']).optional().describe('with a control stage: where the command gate stands'),
  candidate: z.string().nullable().optional().describe('with a control stage: the class being dwelt on'),
  command: z.string().optional().describe('with a control stage: the command this decision fired'),
});

export const commandMessage = z.object({
  v,
  type: z.literal('command'),
  command: z.string().describe('the command mapped from the class (pipeline.control.commands)'),
  label: z.string().describe('the class that fired it'),
  seq: z.number().int().nonnegative().describe('the decision that fired it'),
  timestamp: z.number().describe('stream time (s)'),
});

export const cueMessage = z.object({
  v,
  type: z.literal('cue'),
  label: z.string().describe('the class the user is cued to imagine'),
  marker: z.string().describe('the marker value that carried the cue'),
  timestamp: z.number().describe('stream time (s) of the cue'),
});

export const signalMessage = z.object({
  v,
  type: z.literal('signal'),
  t0: z.number().describe('stream time (s) of the first sample'),
  rate: z.number().positive().describe('sample rate of this frame after decimation, Hz'),
  channels: z.array(z.string()),
  data: z.array(z.array(z.number())).describe('per channel, µV with the channel mean removed, decimated by block averaging'),
  flags: z.array(z.enum(['ok', 'flat', 'railed', 'noisy'])).describe('per channel, over the last second'),
});

export const spectrumMessage = z.object({
  v,
  type: z.literal('spectrum'),
  timestamp: z.number().describe('stream time (s) of the end of the analysed second'),
  freqs: z.array(z.number()).describe('frequency bins, Hz'),
  power: z.array(z.number()).describe('mean power over channels per bin, dB (µV²/Hz)'),
  bands: z.record(z.string(), z.array(z.number())).describe('band -> per-channel power, dB'),
  bandEdges: z.record(z.string(), z.tuple([z.number(), z.number()])).describe('band -> [low, high] Hz, e.g. delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45'),
});

export const statsMessage = z.object({
  v,
  type: z.literal('stats'),
  decisionsPerSecond: z.number(),
  latencyMs: z.object({ p50: z.number(), p99: z.number() }).describe('decision latency over the last second'),
  samplesDropped: z.number().int().describe('samples the source lost so far (gaps)'),
  messagesDropped: z.number().int().describe('messages dropped for this client because it read too slowly'),
  clients: z.number().int(),
});

/** The built-in pipelines' own messages, in the envelope. */
export const retrievalMessage = retrievalMessageBody.extend({ v });
export const emotionMessage = emotionMessageBody.extend({ v });

export const statusMessage = z.object({
  v,
  type: z.literal('status'),
  state: sessionState,
  detail: z.string(),
  trials: z.record(z.string(), z.number().int()).optional(),
  calibrationAccuracy: z.number().nullable().optional(),
  classes: z.array(z.string()).optional(),
  subscribed: z.array(z.string()).optional().describe("in the answer to subscribe/unsubscribe: this client's topics now"),
  gap: z
    .object({
      time: z.number().describe('stream time (s) where the missing stretch begins'),
      samples: z.number().int().nonnegative().describe('samples missing (estimated where the source cannot count them)'),
      seconds: z.number().nonnegative(),
      cause: z.string(),
    })
    .optional()
    .describe('the source lost a stretch of signal (an LSL outage, lost serial packets, a truncated file)'),
  warning: z.string().optional().describe('the source skipped, repaired or could not read something (a corrupt block, a silent device)'),
});

export const errorMessage = z.object({
  v,
  type: z.literal('error'),
  message: z.string(),
  /** The offending part of the client's message, when there is one. */
  path: z.string().optional(),
});

export const pongMessage = z.object({
  v,
  type: z.literal('pong'),
  id: z.union([z.string(), z.number()]).optional(),
  streamTime: z
    .number()
    .optional()
    .describe('stream time (s) when the pong was sent: the last sample seen plus the wall time since it arrived; with the round trip it maps a page clock onto the stream clock for marker times'),
});

const serverMessages = {
  hello: helloMessage,
  decision: decisionMessage,
  command: commandMessage,
  cue: cueMessage,
  signal: signalMessage,
  spectrum: spectrumMessage,
  stats: statsMessage,
  retrieval: retrievalMessage,
  emotion: emotionMessage,
  status: statusMessage,
  error: errorMessage,
  pong: pongMessage,
};
export const serverMessage = z.discriminatedUnion('type', [
  helloMessage,
  decisionMessage,
  commandMessage,
  cueMessage,
  signalMessage,
  spectrumMessage,
  statsMessage,
  retrievalMessage,
  emotionMessage,
  statusMessage,
  errorMessage,
  pongMessage,
]);

const topicList = z.array(z.string().min(1).max(64)).min(1).max(64).describe('topics (the hello lists those offered)');

export const pingMessage = z.object({ v: v.optional(), type: z.literal('ping'), id: z.union([z.string(), z.number()]).optional() }).strict();

export const subscribeMessage = z.object({ v: v.optional(), type: z.literal('subscribe'), topics: topicList }).strict();

export const unsubscribeMessage = z.object({ v: v.optional(), type: z.literal('unsubscribe'), topics: topicList }).strict();

export const markerMessage = z
  .object({
    v: v.optional(),
    type: z.literal('marker'),
    value: z.string().min(1).max(256).describe('marker value, e.g. a cue ("left") matched against pipeline.events'),
    time: z.number().optional().describe('stream time (s); default: the next sample to arrive'),
  })
  .strict();

export const calibrationMessage = z
  .object({
    v: v.optional(),
    type: z.literal('calibration'),
    action: z.enum(['start', 'stop']).describe('start: calibrate anew from the live stream; stop: back to the configured decoder'),
    trialsPerClass: z.number().int().min(2).max(500).optional().describe('cued trials per class to collect (default: the config, or 10)'),
  })
  .strict();

export const pauseMessage = z.object({ v: v.optional(), type: z.literal('pause') }).strict();

export const resumeMessage = z.object({ v: v.optional(), type: z.literal('resume') }).strict();

const clientMessages = {
  ping: pingMessage,
  subscribe: subscribeMessage,
  unsubscribe: unsubscribeMessage,
  marker: markerMessage,
  calibration: calibrationMessage,
  pause: pauseMessage,
  resume: resumeMessage,
};

/** What clients may send (`v` is optional inbound; a different version is refused). */
export const clientMessage = z.discriminatedUnion('type', [pingMessage, subscribeMessage, unsubscribeMessage, markerMessage, calibrationMessage, pauseMessage, resumeMessage]);

type Outbound<T> = T extends unknown ? Omit<T, 'v'> : never;
export type HelloMessage = Outbound<z.infer<typeof helloMessage>>;
/** What the session says in a hello; the server adds the topics and the client's subscriptions. */
export type HelloInfo = Omit<HelloMessage, 'topics' | 'subscribed'>;
export type DecisionMessage = Outbound<z.infer<typeof decisionMessage>>;
export type StatusMessage = Outbound<z.infer<typeof statusMessage>>;
export type ErrorMessage = Outbound<z.infer<typeof errorMessage>>;
/** A server message as the server builds it (the envelope's `v` is added when it is sent). */
export type ServerMessage = Outbound<z.infer<typeof serverMessage>>;
/** What a session sends: a protocol message, or a message of its pipeline plug-in's own type. */
export type OutboundMessage = ServerMessage | PipelineMessage;
export type ClientMessage = z.infer<typeof clientMessage>;

/**
 * The topic a server message belongs to; undefined for those every client gets (hello, error,
 * pong). A plug-in's message is its own topic.
 */
export function topicOf(type: string): Topic | undefined {
  switch (type) {
    case 'spectrum':
      return 'signal';
    case 'stats':
      return 'status';
    case 'hello':
    case 'error':
    case 'pong':
      return undefined;
    default:
      return type;
  }
}

/** Every message's JSON Schema, keyed by direction and message type, with the messages of the registered pipelines. */
export function messageJsonSchemas(registry: PipelineRegistry): Record<string, unknown> {
  const toSchema = (s: z.ZodType): unknown => z.toJSONSchema(s, { io: 'output' });
  const plugins = Object.fromEntries(Object.entries(registry.messageSchemas()).map(([k, s]) => [k, s.extend({ v })]));
  return {
    protocol: PROTOCOL_VERSION,
    topics: offeredTopics(registry),
    serverToClient: Object.fromEntries(Object.entries({ ...serverMessages, ...plugins }).map(([k, s]) => [k, toSchema(s)])),
    clientToServer: Object.fromEntries(Object.entries(clientMessages).map(([k, s]) => [k, toSchema(s)])),
  };
}

/** Client messages are flat: anything nested deeper is refused before it is validated. */
export const CLIENT_MESSAGE_LIMITS: JsonLimits = { maxLength: 64 * 1024, maxDepth: 8 };

/** Parses an inbound frame; returns the message or an error message naming the problem. */
export function parseClientMessage(raw: string): ClientMessage | ErrorMessage {
  let json: unknown;
  try {
    json = parseBoundedJson(raw, CLIENT_MESSAGE_LIMITS);
  } catch (e) {
    const why = e instanceof JsonLimitError ? `message refused: ${e.message}` : `message is not JSON: ${(e as Error).message}`;
    return { type: 'error', message: why };
  }
  if (json !== null && typeof json === 'object' && 'v' in json && json.v !== PROTOCOL_VERSION) {
    return { type: 'error', message: `protocol version ${describeValue(json.v)} is not supported (this server speaks ${PROTOCOL_VERSION})`, path: 'v' };
  }
  const parsed = clientMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issueField(issue, '');
  return { type: 'error', message: `invalid message${path ? ` at "${path}"` : ''}: ${issue.message}`, ...(path ? { path } : {}) };
}

/** A client's value named in an error: primitives as JSON (cut short), containers by kind only. */
function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value) ?? String(value);
    return s.length > 40 ? `${s.slice(0, 40)}...` : s;
  }
  return Array.isArray(value) ? 'an array' : 'an object';
}
