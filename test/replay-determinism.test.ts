import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config-schema.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { compareDecisionLines, recordedDecisionLines, replayDecisions } from '../src/session/replay-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { until } from './helpers/ws-client.js';
import { map, take } from 'rxjs';
import { openSource, type Source } from '../devices/open-source.js';
import type { Chunk } from '../src/stream/types.js';
import { Random } from '../src/util/random.js';
import { dataFile } from './helpers/data.js';
import { expectReplaysMatchLive } from './helpers/replay-check.js';

const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-determinism-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

/** Three replays of a recorded session: byte-identical to each other and to what was decided live. */
async function expectDeterministicReplay(file: string, minimum: number): Promise<void> {
  const rec = await readRecordedSession(file);
  expect(rec.models).toHaveLength(1);
  await expectReplaysMatchLive(rec, minimum);
}

/** A recorded MEG image session on simulated MEG (24 sensors at 200 Hz, 40 images, ridge decoder). */
function megSession(file: string) {
  return parseConfig({
    source: { uri: 'synthetic:meg?seed=2&channels=24&rate=200&images=40', replay: { speed: 'max', chunkSize: 20 } },
    pipeline: { kind: 'meg-image', decoder: { kind: 'meg-ridge' }, calibration: { from: 'synthetic', images: 40, seed: 2 } },
    server: { port: 0 },
    record: { path: file },
  });
}

/**
 * A source like an LSL inlet's: chunks of varying size whose per-sample timestamps jitter (up to
 * 40 % of a sample period) around the nominal clock, from a simulator.
 */
async function jitteredSource(uri: string, chunks: number): Promise<Source> {
  const base = await openSource(uri, { speed: 'max', chunkSize: 7 });
  const random = new Random(99);
  const rate = base.info.sampleRate;
  const chunks$ = base.chunks$.pipe(
    take(chunks),
    map((c): Chunk => {
      const timestamps = Float64Array.from({ length: c.samples }, (_, s) => 100 + (c.firstSample + s) / rate + (random.uniform() * 0.4) / rate);
      return { ...c, time: timestamps[0], timestamps, markers: c.markers.map((m) => ({ ...m, time: m.time + 100 })) };
    }),
  );
  return { ...base, finite: true, chunks$ };
}

describe('deterministic replay of emotion and MEG sessions', () => {
  it.each(['emotion-linear', 'emotion-histn'])(
    'an emotion session (%s): valence and arousal estimates reproduced byte for byte',
    async (kind) => {
      const file = path.join(dir, `${kind}.xdf`);
      const config = parseConfig({
        source: { uri: 'synthetic:emotion?seed=3&subject=5&clips=2&leadIn=12', replay: { speed: 'max', chunkSize: 16 } },
        pipeline: {
          kind: 'emotion',
          decoder: { kind },
          calibration: { from: 'dataset', dataset: 'synthetic-emotion', subjects: 3 },
          normalization: { baselineSeconds: 10 },
        },
        server: { port: 0 },
        record: { path: file },
      });
      session = await startSession(config);
      expect((await session.done).error).toBeUndefined();
      await session.stop();
      session = undefined;
      await expectDeterministicReplay(file, 50);
    },
    120_000,
  );

  it('a MEG image session: the top-5 images of every onset reproduced byte for byte', async () => {
    const file = path.join(dir, 'meg.xdf');
    const config = megSession(file);
    let retrievals = 0;
    session = await startSession(config, { onEvent: (e) => void (e.kind === 'retrieval' && retrievals++) });
    await until(() => retrievals >= 30, 60_000);
    await session.stop();
    session = undefined;
    await expectDeterministicReplay(file, 30);
  }, 120_000);

  it('an ERP session on a Muse P300 run: every flash score and selection decision reproduced byte for byte', async (ctx) => {
    const train = dataFile('muse-visual/P300/subject1/session1/data_2017-02-04-15_45_13.csv');
    const test = dataFile('muse-visual/P300/subject1/session1/data_2017-02-04-15_47_49.csv');
    if (!train || !test) return ctx.skip();
    const file = path.join(dir, 'erp.xdf');
    const config = parseConfig({
      source: { uri: `file:${test}`, replay: { speed: 'max', chunkSize: 12 } },
      pipeline: {
        kind: 'erp',
        decoder: { kind: 'erp-xdawn-ts-lr' },
        selection: { items: { '1': 'non-target image', '2': 'target image' }, threshold: 0.95, maxRepetitions: 10 },
        calibration: { from: 'recording', source: `file:${train}` },
      },
      server: { port: 0 },
      record: { path: file },
    });
    let stopped = false;
    session = await startSession(config, { onEvent: (e) => void ((e as { kind: string; state?: string }).state === 'stopped' && (stopped = true)) });
    await until(() => stopped, 60_000);
    await session.stop();
    session = undefined;
    await expectDeterministicReplay(file, 150);
  }, 120_000);

  it('with jittered LSL-like timestamps, the replay hands the pipeline the live chunks and reproduces every retrieval', async () => {
    const file = path.join(dir, 'meg-jitter.xdf');
    const config = megSession(file);
    session = await startSession(config, { source: await jitteredSource(config.source.uri, 1500) });
    expect((await session.done).error).toBeUndefined();
    await session.stop();
    session = undefined;
    const rec = await readRecordedSession(file);
    expect(rec.chunks?.samples.length).toBe(1500);
    expect(rec.signal.timeStamps[1] - rec.signal.timeStamps[0]).not.toBe(1 / 200); // really jittered
    const live = recordedDecisionLines(rec);
    expect(live.length).toBeGreaterThanOrEqual(40);
    const runs = [(await replayDecisions(rec)).lines.join('\n'), (await replayDecisions(rec)).lines.join('\n'), (await replayDecisions(rec)).lines.join('\n')];
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
    expect(compareDecisionLines(live, runs[0].split('\n'))).toMatchObject({ differences: 0, identical: live.length });
  }, 120_000);
});
