// The P300 page (served at /p300): an item grid whose items (or rows and columns) flash in random
// order. Each flash's onset is the frame that shows it: the lit cells are drawn in one animation
// frame and the marker carries the timestamp of the next one (the frame at whose start the change
// is on screen), mapped onto the stream clock (StimulusLink). Flash and gap lengths are whole
// frames of the measured refresh. It shows the evidence per item (`erp-evidence`) and, on a
// `decision`, the chosen item, and stops flashing.
// URL: ?items=A,B,C&cols=3&mode=single|rowcol&flash=100&isi=75 (ms); default the 6x6 speller by rows and columns.
import { flashGroups, shuffled, SPELLER, type FlashGroup } from './flash-groups.js';
import { measureRefresh } from './frame-clock.js';
import { param, StimulusLink } from './stimulus-link.js';

interface EvidenceMessage {
  type: 'erp-evidence';
  posteriors: Record<string, number>;
}

const items = param('items', SPELLER.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const cols = Math.max(1, Number(param('cols', String(Math.ceil(Math.sqrt(items.length))))) || 1);
const mode = param('mode', new URLSearchParams(location.search).has('items') ? 'single' : 'rowcol') === 'single' ? 'single' : 'rowcol';
const flashMs = Number(param('flash', '100')) || 100;
const isiMs = Number(param('isi', '75')) || 75;

const grid = document.getElementById('grid')!;
const status = document.getElementById('status')!;
const again = document.getElementById('again') as HTMLButtonElement;
grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
const cells = items.map((item) => {
  const cell = document.createElement('div');
  cell.className = 'cell';
  cell.dataset.item = item;
  cell.innerHTML = `<span class="label"></span><span class="evidence"></span>`;
  cell.querySelector('.label')!.textContent = item;
  grid.append(cell);
  return cell;
});
const groups = flashGroups(items, cols, mode);

const link = new StimulusLink();
/** What the tests (and a curious user) can read: the page's timing and what it did. */
const state = {
  periodMs: 0,
  refreshHz: 0,
  flashFrames: 0,
  isiFrames: 0,
  offset: undefined as number | undefined,
  sent: link.sent,
  /** Frame count at each flash onset (the frame its marker names). */
  onsetFrames: [] as number[],
  evidence: 0,
  selected: null as string | null,
  running: false,
};
(window as unknown as { neurorxStimulus: typeof state }).neurorxStimulus = state;

let run = 0;

function light(group: FlashGroup | undefined): void {
  for (const c of cells) c.classList.remove('lit');
  for (const i of group?.cells ?? []) cells[i].classList.add('lit');
}

/** Flashes until a decision (or the next run) stops it; counts frames, never timers. */
function flash(): void {
  const me = ++run;
  state.running = true;
  let frame = 0;
  let nextOnset = 0;
  let litUntil = -1;
  let queue: FlashGroup[] = [];
  let last: FlashGroup | undefined;
  let pending: string | undefined;
  const tick = (t: number): void => {
    if (me !== run) return;
    // The cells lit in the previous frame are on screen from this frame's start: its timestamp is the onset.
    if (pending !== undefined) {
      link.mark(pending, t);
      state.onsetFrames.push(frame);
      pending = undefined;
    }
    if (frame === litUntil) light(undefined);
    if (frame === nextOnset) {
      if (queue.length === 0) queue = shuffled(groups, last);
      last = queue.shift()!;
      light(last);
      pending = last.marker;
      litUntil = frame + state.flashFrames;
      nextOnset = litUntil + state.isiFrames;
    }
    frame++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function stop(): void {
  run++;
  state.running = false;
  light(undefined);
}

link.client.on('message', (m) => {
  if (m.type !== ('erp-evidence' as string)) return;
  const { posteriors } = m as unknown as EvidenceMessage;
  state.evidence++;
  for (const c of cells) {
    const p = posteriors[c.dataset.item!];
    if (p === undefined) continue;
    const bar = c.querySelector<HTMLElement>('.evidence')!;
    bar.style.width = `${Math.round(p * 100)}%`;
    c.title = `${c.dataset.item}: ${(p * 100).toFixed(1)} %`;
  }
});
link.client.on('decision', (d) => {
  stop();
  state.selected = d.label;
  for (const c of cells) c.classList.toggle('selected', c.dataset.item === d.label);
  status.textContent = `selected: ${d.label}`;
  again.disabled = false;
});
again.addEventListener('click', () => {
  state.selected = null;
  for (const c of cells) c.classList.remove('selected');
  again.disabled = true;
  void start();
});

async function start(): Promise<void> {
  status.textContent = 'synchronising with the stream…';
  // A session without samples yet gives no stream time: try again shortly.
  for (let i = 0; i < 50 && (await link.sync()) === undefined; i++) await new Promise((r) => setTimeout(r, 200));
  state.offset = link.offset;
  status.textContent = `${state.refreshHz.toFixed(1)} Hz screen; flashing ${state.flashFrames} frames, gap ${state.isiFrames} frames${link.offset === undefined ? ' (no stream clock: markers untimed)' : ''}`;
  flash();
}

async function main(): Promise<void> {
  status.textContent = 'measuring the screen…';
  const { periodMs, hz } = await measureRefresh(1000);
  Object.assign(state, { periodMs, refreshHz: hz, flashFrames: Math.max(1, Math.round(flashMs / periodMs)), isiFrames: Math.max(1, Math.round(isiMs / periodMs)) });
  await link.connect();
  await start();
}

main().catch((e: Error) => (status.textContent = `error: ${e.message}`));
