import { z } from 'zod';
import { SESSION_ID, SUBJECT_TOKEN } from '../bus/subjects.js';

/** A session id on a bus; default: the config's name made into one (see busSessionId). */
const sessionId = z
  .string()
  .regex(SESSION_ID, "use 1-64 letters, digits, '-' or '_' (not \"eeg\": reserved for EEG streams)")
  .optional()
  .describe("the session's id on the bus (one subject token / topic level); default: the config's name, with other characters replaced by '-'");

const serverUrl = z.string().min(1).max(2048);

export const natsBusSchema = z
  .object({
    servers: z
      .union([serverUrl, z.array(serverUrl).min(1).max(64)])
      .optional()
      .describe('NATS server URL(s), e.g. nats://127.0.0.1:4222 (all are tried; reconnects forever); default $NEURORX_NATS (comma-separated)'),
    session: sessionId,
    user: z.string().min(1).max(1024).optional().describe('NATS user name (with pass)'),
    pass: z.string().min(1).max(4096).optional().describe('NATS password (with user)'),
    token: z.string().min(1).max(4096).optional().describe('NATS authentication token (instead of user/pass)'),
    signal: z.boolean().default(false).describe('also publish the costly "signal" topic (signal frames and spectra, one each per second)'),
    bufferBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('while the connection is down, messages are kept up to this many bytes; beyond it the oldest are dropped (and counted)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.servers === undefined && !process.env.NEURORX_NATS) ctx.addIssue({ code: 'custom', path: ['servers'], message: 'required: set bus.nats.servers (or NEURORX_NATS)' });
    if (s.token && (s.user || s.pass)) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give either a token or user/pass, not both' });
    if ((s.user === undefined) !== (s.pass === undefined)) ctx.addIssue({ code: 'custom', path: [s.user ? 'pass' : 'user'], message: 'user and pass go together' });
  });

export const mqttBusSchema = z
  .object({
    url: serverUrl.describe('broker URL, e.g. mqtt://127.0.0.1:1883 (mqtts://, ws://, wss:// too)'),
    session: sessionId,
    username: z.string().min(1).max(1024).optional().describe('MQTT user name'),
    password: z.string().min(1).max(4096).optional().describe('MQTT password (with username)'),
    qos: z
      .union([z.literal(0), z.literal(1), z.literal(2)])
      .default(1)
      .describe('MQTT quality of service of every publish'),
    types: z
      .array(z.string().regex(SUBJECT_TOKEN, "a message type: letters, digits, '-' or '_'"))
      .min(1)
      .max(64)
      .default(['command', 'decision', 'status'])
      .describe('the message types published on neurorx/<session>/<type>; status is retained'),
    bufferMessages: z.number().int().min(1).max(1_000_000).default(1000).describe('while the broker is unreachable, messages are kept up to this many; beyond it the oldest are dropped (and counted)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.password !== undefined && s.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
  });

export const busSchema = z
  .object({
    nats: natsBusSchema.optional().describe('publish every message on neurorx.<session>.<type>; control and hello by request-reply'),
    mqtt: mqttBusSchema.optional().describe('publish commands, decisions and status (retained) on neurorx/<session>/<type>'),
  })
  .strict();

export type NatsBusConfig = z.infer<typeof natsBusSchema>;
export type MqttBusConfig = z.infer<typeof mqttBusSchema>;
export type BusConfig = z.infer<typeof busSchema>;
