import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { NeurorxClient } from '../src/client/neurorx-client.js';
import { parseConfig } from '../src/config/config-schema.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { dataFile } from './helpers/data.js';

/**
 * The stimulus pages (/p300, /ssvep) in Debian's headless chromium against real sessions: the
 * markers they send arrive with the times of the frames that showed the stimuli (on the stream
 * clock, spaced by whole frames), and the pages react to the decisions. Skipped when chromium is
 * missing, except in CI.
 */
const CHROMIUM = process.env.NEURORX_CHROMIUM ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const haveChromium = existsSync(CHROMIUM);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Sent {
  value: string;
  frameTime: number;
  streamTime: number | undefined;
}
interface PageState {
  periodMs: number;
  offset: number | undefined;
  sent: Sent[];
  onsetFrames: number[];
}

let context: BrowserContext | undefined;
let profileDir: string | undefined;

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing`);
  if (!context) {
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1000, height: 800 }, timeout: 120_000 });
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

afterAll(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

const P300_RUN = dataFile('muse-visual/P300/subject1/session1/data_2017-02-04-15_47_49.csv');
const P300_CALIBRATION = dataFile('muse-visual/P300/subject1/session1/data_2017-02-04-15_45_13.csv');

describe.skipIf((!haveChromium && !CI) || !P300_RUN || !P300_CALIBRATION)('the P300 page in chromium', () => {
  let s: Session | undefined;
  const watcher = new NeurorxClient();
  afterAll(async () => {
    watcher.close();
    await s?.stop();
  });

  it('flashes its items with frame-timed markers, shows the evidence and stops on the decision', async () => {
    const items = ['A', 'B', 'C', 'D'];
    s = await startSession(
      parseConfig({
        source: { uri: `file:${P300_RUN}`, replay: { speed: 1, chunkSize: 16 } },
        pipeline: {
          kind: 'erp',
          preprocessing: { reject: null },
          calibration: { from: 'recording', source: `file:${P300_CALIBRATION}` },
          selection: { items: Object.fromEntries(items.map((i) => [i, i])), threshold: 0.999, maxRepetitions: 3 },
        },
        server: { port: 0 },
      }),
    );
    const scores: { marker: string; timestamp: number }[] = [];
    watcher.on('message', (m) => {
      const msg = m as unknown as { type: string; marker: string; timestamp: number };
      if (msg.type === 'erp-score' && items.includes(msg.marker)) scores.push({ marker: msg.marker, timestamp: msg.timestamp });
    });
    let decided: string | undefined;
    watcher.on('decision', (d) => (decided ??= d.label));
    await watcher.connect(`ws://127.0.0.1:${s.server.address.port}`);

    const { page, errors } = await openPage(`http://127.0.0.1:${s.server.address.port}/p300?items=${items.join(',')}&cols=2&flash=100&isi=100`);
    await page.waitForFunction('window.neurorxStimulus && window.neurorxStimulus.selected !== null', undefined, { timeout: 90_000, polling: 100 });
    const state = await page.evaluate<PageState & { flashFrames: number; isiFrames: number; evidence: number; selected: string; running: boolean }>('window.neurorxStimulus');

    // the page reacted: flashing stopped, the decided item is outlined, evidence was shown
    expect(state.running).toBe(false);
    expect(state.selected).toBe(decided);
    expect(await page.locator('.cell.selected').count()).toBe(1);
    expect(await page.locator('.cell.selected').getAttribute('data-item')).toBe(decided);
    expect(await page.locator('.cell.lit').count()).toBe(0);
    expect(state.evidence).toBeGreaterThanOrEqual(items.length);

    // every flash marker reached the pipeline with the stream time the page gave its frame
    expect(state.offset).toBeDefined();
    const sent = state.sent.filter((m) => items.includes(m.value));
    expect(sent.length).toBeGreaterThanOrEqual(items.length * 3);
    for (const m of sent) expect(m.streamTime).toBeCloseTo(m.frameTime / 1000 + state.offset!, 9);
    const scored = new Map(scores.map((x) => [x.timestamp.toFixed(6), x.marker]));
    const arrived = sent.filter((m) => scored.get(m.streamTime!.toFixed(6)) === m.value);
    // the flashes up to the decision (later ones may still be in their epoch when the page stops)
    expect(arrived.length).toBeGreaterThanOrEqual(items.length * 3);

    // onsets a whole number of frames apart (flash + gap), counted in animation frames, never timers
    // (headless chromium's frame timestamps jitter, so their spacing is not asserted)
    const step = state.flashFrames + state.isiFrames;
    expect(state.onsetFrames.length).toBe(state.sent.length);
    state.onsetFrames.slice(1).forEach((f, i) => expect(f - state.onsetFrames[i]).toBe(step));
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});

describe.skipIf(!haveChromium && !CI)('the SSVEP page in chromium', () => {
  let s: Session | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-ssvep-page-'));
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flickers in whole frames, reports trial onsets with their frame times and shows the decisions', async () => {
    const record = path.join(dir, 'session.xdf');
    s = await startSession(
      parseConfig({
        source: { uri: 'synthetic:ssvep?seed=4&trials=20&amplitude=4', replay: { speed: 1, chunkSize: 16 } },
        pipeline: {
          kind: 'ssvep',
          targets: [
            { label: '30Hz', frequency: 30, marker: 's30' },
            { label: '20Hz', frequency: 20, marker: 's20' },
          ],
          window: { length: 2, hop: 0.5, align: 'sliding' },
          decoder: { kind: 'cca' },
        },
        record: { path: record },
        server: { port: 0 },
      }),
    );
    const { page, errors } = await openPage(`http://127.0.0.1:${s.server.address.port}/ssvep?targets=30Hz:s30:30,20Hz:s20:20&trial=1&rest=0.5`);
    await page.waitForFunction('window.neurorxStimulus && window.neurorxStimulus.onsetFrames.length >= 3 && window.neurorxStimulus.decisions >= 4', undefined, { timeout: 90_000, polling: 100 });
    const state = await page.evaluate<
      PageState & { trialFrames: number; restFrames: number; flickers: { label: string; cycle: number; on: number }[]; history: { label: string; shown: string | null }[] }
    >('window.neurorxStimulus');
    await page.close();
    await s.stop();

    // the page reacts to every decision: a target's label outlines that target, anything else none
    for (const h of state.history) expect(h.shown).toBe(['30Hz', '20Hz'].includes(h.label) ? h.label : null);
    // frame counts per cycle follow the measured refresh (60 Hz headless: 2 and 3 frames)
    for (const f of state.flickers) expect(f.cycle).toBe(Math.max(2, Math.round(1000 / state.periodMs / Number.parseFloat(f.label))));

    // the session recorded each trial onset, per target, at the stream time of the frame that showed it
    const rec = await readRecordedSession(record);
    const recorded = rec.markers.filter((m) => m.value === 's30' || m.value === 's20');
    const sent = state.sent.filter((m) => m.streamTime !== undefined);
    expect(sent.length).toBeGreaterThanOrEqual(6);
    for (const m of sent.slice(0, recorded.length)) expect(recorded.some((r) => r.value === m.value && Math.abs(r.time - m.streamTime!) < 1e-6)).toBe(true);
    expect(recorded.length).toBeGreaterThanOrEqual(4);
    // trial onsets a whole trial + rest apart, counted in animation frames
    state.onsetFrames.slice(1).forEach((f, i) => expect(f - state.onsetFrames[i]).toBe(state.trialFrames + state.restFrames));
    expect(errors).toEqual([]);
  }, 180_000);
});
