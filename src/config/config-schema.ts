import { z } from 'zod';
import { isLoopback } from '../server/access.js';
import { issueLines } from '../util/zod-issues.js';
import { JsonLimitError, parseBoundedJson, type JsonLimits } from '../util/bounded-json.js';
import { FileTooLargeError, readBoundedText } from '../util/bounded-file.js';
import path from 'node:path';
import type { EmotionSettings } from '../../pipelines/emotion/settings.js';
import type { MegImageSettings } from '../../pipelines/meg/settings.js';
import type { MotorImagerySettings } from '../../pipelines/motor-imagery/settings.js';
import { pipelineRegistry, type PipelineRegistry } from '../../pipelines/registry.js';
import { loadPlugins } from './load-plugins.js';
import { busSchema } from './bus-schema.js';

export const replaySchema = z
  .object({
    speed: z
      .union([z.number().positive().max(1e6), z.literal('max')])
      .default(1)
      .describe('1 = real time; "max" = as fast as possible'),
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

/** A config's `plugins`: loaded before the rest of the config is checked (their kinds are part of it). */
const pluginsSchema = z
  .array(z.string().min(1).max(4096))
  .max(64)
  .describe('pipeline plug-ins to load first: ES modules (paths relative to this file, or package names) exporting a plug-in as default');

/** A neurorx session: where the signal comes from, how it is decoded, where decisions go. */
export function configSchemaFor(registry: PipelineRegistry) {
  return z
    .object({
      $schema: z.string().optional(),
      plugins: pluginsSchema.optional(),
      name: z.string().min(1).default('neurorx'),
      source: z
        .object({
          uri: z.string().min(1).describe('source URI, e.g. file:rec.edf or synthetic:motor-imagery'),
          replay: replaySchema.default({ speed: 1, chunkSize: 16, loop: false }),
        })
        .strict(),
      pipeline: registry.settingsSchema(),
      server: serverSchema.default({
        host: '127.0.0.1',
        port: 8765,
        allowedOrigins: [],
        allowedHosts: [],
        maxClients: 1024,
        rateLimit: { perSecond: 50, burst: 100 },
        maxQueue: 256,
        stallTimeoutMs: 10_000,
      }),
      record: recordSchema.optional().describe('write every stream of the session (signal, markers, decisions, config, models) to XDF as it happens'),
      lsl: z
        .object({
          decisions: z.string().min(1).optional().describe('publish decisions as LSL outlets with this name (labels) and "<name>-probabilities"'),
          bind: z
            .enum(['any', 'loopback'])
            .optional()
            .describe(
              'where the decision outlets serve: "any" interface (LSL\'s default: anyone on the network can read them, unauthenticated) or "loopback" (this machine only); default $NEURORX_LSL_BIND or any',
            ),
        })
        .strict()
        .optional(),
      bus: busSchema.optional().describe("also send the session's messages over a message bus (NATS, MQTT)"),
    })
    .strict();
}

/** The config schema with the pipelines registered so far (the built-in ones, and plug-ins loaded). */
export const configSchema = configSchemaFor(pipelineRegistry);

/**
 * A parsed config. `pipeline` is typed as one of the built-in kinds; a plug-in's section is its
 * own settings object (checked by its schema), read through the plug-in.
 */
export type Config = Omit<z.infer<typeof configSchema>, 'pipeline'> & { pipeline: BuiltinPipelineSettings };
export type BuiltinPipelineSettings = MotorImagerySettings | EmotionSettings | MegImageSettings;

let cached: { kinds: string; schema: ReturnType<typeof configSchemaFor> } | undefined;
function currentSchema(): ReturnType<typeof configSchemaFor> {
  const kinds = pipelineRegistry.kinds.join(',');
  if (cached?.kinds !== kinds) cached = { kinds, schema: configSchemaFor(pipelineRegistry) };
  return cached.schema;
}

/** Validates a parsed config; the error names every offending field and why. */
export function parseConfig(json: unknown, origin = 'config'): Config {
  const result = currentSchema().safeParse(json);
  if (result.success) return result.data as Config;
  throw new ConfigError(`${origin}: invalid config\n${issueLines(result.error)}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A config is a page of settings: anything larger or deeper is a mistake (or an attack), refused before it is parsed. */
export const CONFIG_LIMITS: JsonLimits = { maxLength: 1024 * 1024, maxDepth: 32 };

/** Reads and validates a JSON config file. */
export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readBoundedText(file, CONFIG_LIMITS.maxLength);
  } catch (e) {
    if (e instanceof FileTooLargeError) throw new ConfigError(`config refused: ${e.message}`);
    throw new ConfigError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseBoundedJson(text, CONFIG_LIMITS);
  } catch (e) {
    throw new ConfigError(`${file}: ${e instanceof JsonLimitError ? 'config refused' : 'not valid JSON'}: ${(e as Error).message}`);
  }
  return configFromJson(json, path.dirname(file), file);
}

/**
 * Validates a parsed config as loadConfig does a file's: the plug-ins it names loaded first
 * (paths relative to `baseDir`), then the whole checked; the error names the field.
 */
export async function configFromJson(json: unknown, baseDir: string, origin = 'config'): Promise<Config> {
  // (a malformed list is left to parseConfig, which names the field)
  const plugins = pluginsSchema.safeParse((json as { plugins?: unknown } | null)?.plugins);
  if (plugins.success) {
    try {
      await loadPlugins(plugins.data, baseDir, pipelineRegistry, origin);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  }
  return parseConfig(json, origin);
}
