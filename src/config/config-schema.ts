import { z } from 'zod';
import { isLoopback } from '../server/access.js';
import { issueLines } from '../util/zod-issues.js';
import { JsonLimitError, parseBoundedJson, type JsonLimits } from '../util/bounded-json.js';
import { FileTooLargeError, readBoundedText } from '../util/bounded-file.js';
import { motorImagerySettingsSchema } from '../../pipelines/motor-imagery/settings.js';
import { emotionSettingsSchema } from '../../pipelines/emotion/settings.js';
import { megImageSettingsSchema } from '../../pipelines/meg/settings.js';

export const replaySchema = z
  .object({
    speed: z.union([z.number().positive().max(1e6), z.literal('max')]).default(1).describe('1 = real time; "max" = as fast as possible'),
    chunkSize: z.number().int().min(1).max(65_536).default(16).describe('samples per chunk'),
    loop: z.boolean().default(false),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('bind address; anything but loopback needs a token'),
    port: z.number().int().min(0).max(65535).default(8765),
    token: z.string().min(16).max(4096).optional().describe('clients must present it (?token= or Authorization: Bearer); default $NEURORX_TOKEN'),
    allowedOrigins: z.array(z.string().min(1)).max(1000).default([]).describe('browser origins allowed besides the server\'s own ("*": any)'),
    allowedHosts: z
      .array(z.string().min(1))
      .max(1000)
      .default([])
      .describe('host names clients may reach the server by (the HTTP Host header), besides address literals, localhost and host ("*": any); refuses DNS rebinding'),
    rateLimit: z
      .object({ perSecond: z.number().positive().max(100_000).default(50), burst: z.number().int().min(1).max(1_000_000).default(100) })
      .strict()
      .default({ perSecond: 50, burst: 100 })
      .describe('inbound messages per client; beyond it the client is closed'),
    maxClients: z.number().int().min(1).max(100_000).default(1024).describe('clients connected at once at most; further ones are refused (503)'),
    maxQueue: z.number().int().min(1).max(1_000_000).default(256).describe('frames queued per slow client before the oldest is dropped'),
    stallTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000).describe('a client backlogged this long is disconnected'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!isLoopback(s.host) && !s.token && !process.env.NEURORX_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `required when host is ${s.host} (reachable from other machines): set server.token or NEURORX_TOKEN` });
    }
  });

export const recordSchema = z
  .object({
    path: z.string().min(1).describe('XDF file the session is written to; "{time}" becomes the start time, e.g. recordings/session-{time}.xdf'),
    flushIntervalMs: z.number().int().min(50).max(60_000).default(1000).describe('samples reach the file at least this often: a killed process loses at most this much'),
    edf: z.boolean().default(false).describe('when the session ends, also export the signal and its markers as EDF+ (same path, .edf)'),
    overwrite: z.boolean().default(false).describe('replace an existing file (by default an existing recording is never overwritten)'),
  })
  .strict();

/** A neurorx session: where the signal comes from, how it is decoded, where decisions go. */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).default('neurorx'),
    source: z
      .object({
        uri: z.string().min(1).describe('source URI, e.g. file:rec.edf or synthetic:motor-imagery'),
        replay: replaySchema.default({ speed: 1, chunkSize: 16, loop: false }),
      })
      .strict(),
    pipeline: z.discriminatedUnion('kind', [motorImagerySettingsSchema, emotionSettingsSchema, megImageSettingsSchema]).describe('what decodes the signal: motor-imagery, emotion or meg-image'),
    server: serverSchema.default({ host: '127.0.0.1', port: 8765, allowedOrigins: [], allowedHosts: [], maxClients: 1024, rateLimit: { perSecond: 50, burst: 100 }, maxQueue: 256, stallTimeoutMs: 10_000 }),
    record: recordSchema.optional().describe('write every stream of the session (signal, markers, decisions, config, models) to XDF as it happens'),
    lsl: z
      .object({
        decisions: z.string().min(1).optional().describe('publish decisions as LSL outlets with this name (labels) and "<name>-probabilities"'),
        bind: z
          .enum(['any', 'loopback'])
          .optional()
          .describe('where the decision outlets serve: "any" interface (LSL\'s default: anyone on the network can read them, unauthenticated) or "loopback" (this machine only); default $NEURORX_LSL_BIND or any'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** Validates a parsed config; the error names every offending field and why. */
export function parseConfig(json: unknown, origin = 'config'): Config {
  const result = configSchema.safeParse(json);
  if (result.success) return result.data;
  throw new ConfigError(`${origin}: invalid config\n${issueLines(result.error)}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A config is a page of settings: anything larger or deeper is a mistake (or an attack), refused before it is parsed. */
export const CONFIG_LIMITS: JsonLimits = { maxLength: 1024 * 1024, maxDepth: 32 };

/** Reads and validates a JSON config file. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readBoundedText(path, CONFIG_LIMITS.maxLength);
  } catch (e) {
    if (e instanceof FileTooLargeError) throw new ConfigError(`config refused: ${e.message}`);
    throw new ConfigError(`${path}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseBoundedJson(text, CONFIG_LIMITS);
  } catch (e) {
    throw new ConfigError(`${path}: ${e instanceof JsonLimitError ? 'config refused' : 'not valid JSON'}: ${(e as Error).message}`);
  }
  return parseConfig(json, path);
}
