import { z } from 'zod';
import { emotionPlugin } from './emotion/plugin.js';
import { erpPlugin } from './erp/plugin.js';
import { megImagePlugin } from './meg/plugin.js';
import { motorImageryPlugin } from './motor-imagery/plugin.js';
import { ssvepPlugin } from './ssvep/plugin.js';
import type { PipelinePlugin, PipelineSettings } from './pipeline-plugin.js';

// Plug-ins are written against their own settings and event types; the registry holds them all.
export type AnyPipelinePlugin = PipelinePlugin<PipelineSettings, unknown>;

/**
 * The pipeline kinds a session can run: the built-in ones and the plug-ins registered (by a config's
 * `plugins` or by an embedding application). The session, replay, recorder, config loader and
 * command line find a kind here and nowhere else.
 */
export class PipelineRegistry {
  private readonly plugins = new Map<string, AnyPipelinePlugin>();

  constructor(plugins: readonly AnyPipelinePlugin[] = []) {
    for (const p of plugins) this.register(p);
  }

  /** Adds a kind; the same object again is a no-op, another one for a taken kind an error. */
  register(plugin: AnyPipelinePlugin): void {
    checkPlugin(plugin);
    const known = this.plugins.get(plugin.kind);
    if (known === plugin) return;
    if (known) throw new Error(`pipeline kind "${plugin.kind}" is registered already`);
    for (const type of Object.keys(plugin.messages ?? {})) {
      const owner = [...this.plugins.values()].find((p) => p.messages && type in p.messages);
      if (owner || CORE_MESSAGE_TYPES.includes(type)) throw new Error(`pipeline "${plugin.kind}": message type "${type}" is taken (by ${owner ? `pipeline "${owner.kind}"` : 'the core protocol'})`);
    }
    this.plugins.set(plugin.kind, plugin);
  }

  get kinds(): string[] {
    return [...this.plugins.keys()];
  }

  /** The plug-in of `kind`; the error lists the kinds there are. */
  get(kind: string): AnyPipelinePlugin {
    const p = this.plugins.get(kind);
    if (!p) throw new Error(`unknown pipeline kind "${kind}" (known: ${this.kinds.join(', ')}; a plug-in is loaded by the config's "plugins")`);
    return p;
  }

  /** The schema of a config's `pipeline` section: one of the registered kinds. */
  settingsSchema(): z.ZodType<PipelineSettings & Record<string, unknown>, unknown> {
    const schemas = [...this.plugins.values()].map((p) => p.settings) as unknown as [z.ZodObject, ...z.ZodObject[]];
    return z.discriminatedUnion('kind', schemas).describe(`what decodes the signal: ${this.kinds.join(', ')}`) as unknown as z.ZodType<PipelineSettings & Record<string, unknown>, unknown>;
  }

  /** Every plug-in's own message schemas, by type. */
  messageSchemas(): Record<string, z.ZodObject> {
    return Object.assign({}, ...[...this.plugins.values()].map((p) => p.messages ?? {})) as Record<string, z.ZodObject>;
  }

  /** The message types that carry a decoder's output, over every kind (what a replay compares). */
  outputTypes(): string[] {
    return [...new Set([...this.plugins.values()].flatMap((p) => p.outputs))];
  }

  /** The plug-in whose offline evaluation knows decoder `name`. */
  evaluatorOf(name: string): AnyPipelinePlugin | undefined {
    return [...this.plugins.values()].find((p) => p.evaluate?.decoders.includes(name));
  }
}

/** Message types of the core protocol that no plug-in may take. */
export const CORE_MESSAGE_TYPES: readonly string[] = ['hello', 'decision', 'command', 'cue', 'signal', 'spectrum', 'stats', 'status', 'error', 'pong'];

function checkPlugin(p: AnyPipelinePlugin): void {
  const what = `pipeline plug-in${typeof p?.kind === 'string' ? ` "${p.kind}"` : ''}`;
  if (p === null || typeof p !== 'object') throw new Error(`${what}: not an object`);
  if (typeof p.kind !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(p.kind)) throw new Error(`${what}: kind must be lower-case letters, digits and dashes (at most 64), got ${JSON.stringify(p.kind)}`);
  if (!(p.settings instanceof z.ZodType)) throw new Error(`${what}: settings must be a zod schema (of the same zod as neurorx's)`);
  for (const f of ['open', 'describe'] as const) if (typeof p[f] !== 'function') throw new Error(`${what}: ${f} must be a function`);
  if (!Array.isArray(p.outputs)) throw new Error(`${what}: outputs must be an array of message types`);
  for (const [type, schema] of Object.entries(p.messages ?? {})) {
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(type)) throw new Error(`${what}: message type "${type}": lower-case letters, digits and dashes`);
    if (!(schema instanceof z.ZodObject)) throw new Error(`${what}: messages.${type} must be a zod object schema`);
  }
}

/** The registry of this process: the built-in kinds, then whatever configs and applications add. */
export const pipelineRegistry = new PipelineRegistry([motorImageryPlugin, emotionPlugin, megImagePlugin, erpPlugin, ssvepPlugin]);
