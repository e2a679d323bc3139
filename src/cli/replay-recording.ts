import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig, type Config } from '../config/config-schema.js';
import { NotASessionRecording, readRecordedSession } from '../session/recorded-session.js';
import { compareDecisionLines, recordedDecisionLines, replayDecisions, withSavedModel, writeRecordedModel } from '../session/replay-session.js';

export interface ReplayCliOptions {
  check: boolean;
  out?: string;
  config?: Config;
  model?: string;
  /** Re-cut the signal into chunks of this size (default: the live chunks). */
  chunk?: number;
  json: boolean;
}

/**
 * `neurorx replay <recording.xdf> --check | --out FILE`: replays a neurorx session recording
 * headless, as fast as possible; writes the decisions as canonical lines and/or compares them with
 * those recorded live. Returns the process exit code (1 when the check finds a difference).
 */
export async function replayRecordingCli(file: string, o: ReplayCliOptions): Promise<number> {
  const rec = await readRecordedSession(file);
  for (const w of rec.warnings) console.error(`warning: ${w}`);
  const result = await replayDecisions(rec, { config: o.config, modelPath: o.model, chunkSize: o.chunk, log: (l) => console.error(l) });
  for (const n of result.notes) console.error(`note: ${n}`);
  if (o.out) {
    await writeFile(o.out, result.lines.map((l) => l + '\n').join(''));
    console.error(`${result.lines.length} decisions written to ${o.out}`);
  }
  if (!o.check) return 0;
  const live = recordedDecisionLines(rec);
  if (live.length === 0) {
    console.error(`${file}: no decisions were recorded live: nothing to check`);
    return 1;
  }
  const report = compareDecisionLines(live, result.lines);
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...report, notes: result.notes }) + '\n');
  } else {
    console.log(`live ${report.live} decisions, replay ${report.replay}: ${report.identical} identical, ${report.differences} different`);
    for (const d of report.first) {
      console.log(`  #${d.index}: ${d.fields.join(', ')} differ`);
      console.log(`    live:   ${d.live ?? '(none)'}`);
      console.log(`    replay: ${d.replay ?? '(none)'}`);
    }
  }
  return report.differences === 0 ? 0 : 1;
}

/**
 * `neurorx replay <recording.xdf>` of a neurorx session recording, live over WebSocket: the
 * recorded config decoding the recorded signal (and markers) with the recorded model, at the
 * given pace. Undefined when the file is not a neurorx session recording.
 */
export async function sessionReplayConfig(file: string, o: { speed: number | 'max'; chunk: number; loop: boolean; port: number; model?: string }): Promise<Config | undefined> {
  if (!/\.xdf$/i.test(file)) return undefined;
  let rec;
  try {
    rec = await readRecordedSession(file);
  } catch (e) {
    if (e instanceof NotASessionRecording) return undefined; // another writer's XDF: replayed as a plain recording
    throw e;
  }
  if (!rec.config) return undefined;
  // The model file outlives this call (the session loads it); it is small and goes to the temp folder.
  const modelPath = o.model ?? (await writeRecordedModel(rec, await mkdtemp(path.join(tmpdir(), 'neurorx-replay-'))));
  const pipeline = withSavedModel(rec.config.pipeline, modelPath, file);
  return parseConfig(
    {
      ...rec.config,
      name: `replay of ${path.basename(file)}`,
      source: { uri: `file:${file}?stream=${encodeURIComponent(rec.signal.name)}`, replay: { speed: o.speed, chunkSize: o.chunk, loop: o.loop } },
      pipeline,
      server: { ...rec.config.server, port: o.port },
    },
    `${file}: recorded config`,
  );
}
