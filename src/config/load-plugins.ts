import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyPipelinePlugin, PipelineRegistry } from '../../pipelines/registry.js';

/**
 * Loads the pipeline plug-ins a config names and registers them. A plug-in is an ES module whose
 * default export (or `plugin` export) is a pipeline plug-in object, or an array of them. Paths
 * starting with "." or "/" are relative to the config file's folder; other names are packages,
 * resolved from that folder.
 */
export async function loadPlugins(specs: readonly string[], baseDir: string, registry: PipelineRegistry, origin = 'config'): Promise<string[]> {
  const kinds: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const where = `${origin}: plugins.${i} ("${spec}")`;
    let url: string;
    try {
      url = spec.startsWith('.') || path.isAbsolute(spec) ? pathToFileURL(path.resolve(baseDir, spec)).href : pathToFileURL(createRequire(path.join(baseDir, 'config.json')).resolve(spec)).href;
    } catch (e) {
      throw new Error(`${where}: not found (${(e as Error).message.split('\n')[0]})`);
    }
    let mod: { default?: unknown; plugin?: unknown };
    try {
      mod = (await import(url)) as typeof mod;
    } catch (e) {
      throw new Error(`${where}: cannot be loaded: ${(e as Error).message}`);
    }
    const exported = mod.default ?? mod.plugin;
    if (exported === undefined) throw new Error(`${where}: exports no plug-in (export default a pipeline plug-in, or an array of them)`);
    for (const p of Array.isArray(exported) ? exported : [exported]) {
      try {
        registry.register(p as AnyPipelinePlugin);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
      kinds.push((p as AnyPipelinePlugin).kind);
    }
  }
  return kinds;
}
