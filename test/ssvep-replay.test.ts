import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { expectReplaysMatchLive } from './helpers/replay-check.js';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const DATA = process.env.NEURORX_DATA ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
const RUN = (name: string) => path.join(DATA, 'muse-visual', 'SSVEP', 'subject1', 'session1', name);

const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-ssvep-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

/** Records a live session to the end of its (finite) source, then replays it three times at other chunk sizes. */
async function expectDeterministicReplay(config: ReturnType<typeof parseConfig>, file: string, minimum: number): Promise<string[]> {
  session = await startSession(config);
  expect((await session.done).error).toBeUndefined();
  await session.stop();
  session = undefined;
  return expectReplaysMatchLive(await readRecordedSession(file), minimum);
}

describe('deterministic replay of SSVEP sessions (Muse CSV)', () => {
  it('config/ssvep-replay.json (FBCCA, sliding windows, idle state): every decision reproduced byte for byte', async () => {
    const file = path.join(dir, 'fbcca.xdf');
    const example = await loadConfig(path.join(PROJECT_ROOT, 'config', 'ssvep-replay.json'));
    const config = parseConfig({
      ...example,
      source: { uri: `file:${RUN('data_2017-09-14-21.20.04.csv')}`, replay: { speed: 'max', chunkSize: 12 } },
      server: { port: 0 },
      record: { path: file },
    });
    const live = await expectDeterministicReplay(config, file, 200);
    expect(live.some((l) => l.includes('"idle"'))).toBe(true);
    expect(live.some((l) => l.includes('"20Hz"'))).toBe(true);
  }, 120_000);

  it('TRCA calibrated on another run, stimulus-locked: every decision reproduced byte for byte', async () => {
    const file = path.join(dir, 'trca.xdf');
    const config = parseConfig({
      source: { uri: `file:${RUN('data_2017-09-14-21.22.51.csv')}`, replay: { speed: 'max', chunkSize: 20 } },
      pipeline: {
        kind: 'ssvep',
        notch: { freq: 60 },
        bandpass: { low: 15, high: 90 },
        targets: [
          { label: '30Hz', frequency: 30, marker: '1' },
          { label: '20Hz', frequency: 20, marker: '2' },
        ],
        window: { length: 3, align: 'stimulus' },
        decoder: { kind: 'trca', calibration: { from: 'recording', source: `file:${RUN('data_2017-09-14-21.20.04.csv')}` } },
      },
      server: { port: 0 },
      record: { path: file },
    });
    await expectDeterministicReplay(config, file, 25);
  }, 120_000);
});
