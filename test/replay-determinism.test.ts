import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config-schema.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { compareDecisionLines, recordedDecisionLines, replayDecisions } from '../src/session/replay-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { until } from './helpers/ws-client.js';

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
  const live = recordedDecisionLines(rec);
  expect(live.length).toBeGreaterThanOrEqual(minimum);
  const runs: string[] = [];
  for (const chunkSize of [5, 32, 256]) runs.push((await replayDecisions(rec, { chunkSize })).lines.join('\n'));
  expect(runs[1]).toBe(runs[0]);
  expect(runs[2]).toBe(runs[0]);
  expect(compareDecisionLines(live, runs[0].split('\n'))).toMatchObject({ differences: 0, identical: live.length });
}

describe('deterministic replay of emotion and MEG sessions (TensorFlow.js-free decoders)', () => {
  it('an emotion session: valence and arousal estimates reproduced byte for byte', async () => {
    const file = path.join(dir, 'emotion.xdf');
    const config = parseConfig({
      source: { uri: 'synthetic:emotion?seed=3&subject=5&clips=2&leadIn=12', replay: { speed: 'max', chunkSize: 16 } },
      pipeline: {
        kind: 'emotion',
        decoder: { kind: 'emotion-linear' },
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
  }, 120_000);

  it('a MEG image session: the top-5 images of every onset reproduced byte for byte', async () => {
    const file = path.join(dir, 'meg.xdf');
    const config = parseConfig({
      source: { uri: 'synthetic:meg?seed=2&channels=24&rate=200&images=40', replay: { speed: 'max', chunkSize: 20 } },
      pipeline: { kind: 'meg-image', decoder: { kind: 'meg-ridge' }, calibration: { from: 'synthetic', images: 40, seed: 2 } },
      server: { port: 0 },
      record: { path: file },
    });
    let retrievals = 0;
    session = await startSession(config, { onEvent: (e) => void (e.kind === 'retrieval' && retrievals++) });
    await until(() => retrievals >= 30, 60_000);
    await session.stop();
    session = undefined;
    await expectDeterministicReplay(file, 30);
  }, 120_000);
});
