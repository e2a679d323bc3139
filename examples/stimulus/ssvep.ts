// The SSVEP page (served at /ssvep): targets flickering at frequencies that divide the screen's
// refresh, measured first; rendering is locked to animation frames (frames are counted, never
// timers). Trials of flicker alternate with rests; each trial's onset is reported as a marker per
// target (its marker code) timed by the frame that first shows it (the timestamp of the frame
// after the one that drew it; see StimulusLink for the clock). Decisions highlight the chosen
// target; "idle" (or any label that is no target) leaves none selected.
// URL: ?targets=label:marker:Hz,...&trial=4&rest=1 (seconds); default the Muse recordings' 30 Hz and 20 Hz.
import { flickerOf, litAt, parseTargets } from './flicker.js';
import { measureRefresh } from './frame-clock.js';
import { param, StimulusLink } from './stimulus-link.js';

const targets = parseTargets(param('targets', '30Hz:1:30,20Hz:2:20'));
const trialSeconds = Number(param('trial', '4')) || 4;
const restSeconds = Number(param('rest', '1')) || 1;

const field = document.getElementById('targets')!;
const status = document.getElementById('status')!;

const link = new StimulusLink();
const state = {
  periodMs: 0,
  refreshHz: 0,
  offset: undefined as number | undefined,
  flickers: [] as ReturnType<typeof flickerOf>[],
  sent: link.sent,
  /** Frame count at each trial onset (the frame its markers name). */
  onsetFrames: [] as number[],
  trialFrames: 0,
  restFrames: 0,
  decisions: 0,
  selected: null as string | null,
  /** Per decision: its label and the target the page shows selected after it (null: none). */
  history: [] as { label: string; shown: string | null }[],
};
(window as unknown as { neurorxStimulus: typeof state }).neurorxStimulus = state;

function run(boxes: HTMLElement[], trialFrames: number, restFrames: number): void {
  const lit = boxes.map(() => false);
  let frame = 0;
  let trialStart = 0;
  let onsetPending = false;
  const tick = (t: number): void => {
    if (onsetPending) {
      for (const f of state.flickers) link.mark(f.marker, t);
      state.onsetFrames.push(frame);
      onsetPending = false;
    }
    const k = frame - trialStart;
    if (k === 0) onsetPending = true;
    const flickering = k < trialFrames;
    state.flickers.forEach((f, i) => {
      const on = flickering && litAt(f, k);
      if (on !== lit[i]) boxes[i].classList.toggle('on', (lit[i] = on));
    });
    frame++;
    if (k + 1 === trialFrames + restFrames) trialStart = frame;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

link.client.on('decision', (d) => {
  state.decisions++;
  const chosen = state.flickers.some((f) => f.label === d.label) ? d.label : null;
  state.selected = chosen;
  for (const box of field.children) (box as HTMLElement).classList.toggle('selected', (box as HTMLElement).dataset.label === chosen);
  status.textContent = chosen ? `selected: ${chosen}` : `no target (${d.label})`;
  state.history.push({ label: d.label, shown: field.querySelector<HTMLElement>('.target.selected')?.dataset.label ?? null });
});

async function main(): Promise<void> {
  status.textContent = 'measuring the screen…';
  const { periodMs, hz } = await measureRefresh(1000);
  state.periodMs = periodMs;
  state.refreshHz = hz;
  state.flickers = targets.map((t) => flickerOf(t, hz));
  const boxes = state.flickers.map((f) => {
    const box = document.createElement('div');
    box.className = 'target';
    box.dataset.label = f.label;
    box.textContent = `${f.label} · ${f.frequency.toFixed(2)} Hz (${f.on}/${f.cycle - f.on} frames)`;
    field.append(box);
    return box;
  });
  await link.connect();
  status.textContent = 'synchronising with the stream…';
  for (let i = 0; i < 50 && (await link.sync()) === undefined; i++) await new Promise((r) => setTimeout(r, 200));
  state.offset = link.offset;
  status.textContent = `${hz.toFixed(1)} Hz screen${link.offset === undefined ? ' (no stream clock: markers untimed)' : ''}`;
  state.trialFrames = Math.max(1, Math.round((trialSeconds * 1000) / periodMs));
  state.restFrames = Math.max(1, Math.round((restSeconds * 1000) / periodMs));
  run(boxes, state.trialFrames, state.restFrames);
}

main().catch((e: Error) => (status.textContent = `error: ${e.message}`));
