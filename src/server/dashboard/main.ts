// The neurorx dashboard: browser ES modules compiled by tsc (tsconfig.browser.json), no framework.
// Charts are uPlot (see uplot-global.ts).
//
// Data flow: every message updates the model at once (apply-message.ts; typed-array rings for the
// signal and the decisions) and marks the parts of the page it touched as dirty; one animation
// frame redraws the dirty parts (redraw.ts), so a burst of messages costs one redraw. Charts are
// created once and only re-created when their shape changes (channel list, classes).
//
// Query parameters: token=... (sent on the WebSocket), simulate=64x1000[&decimate=4] (no server:
// feeds generated messages at that channel count and rate through the same code, for performance
// checks), perf=1 (counts animation frames and dropped frames; on in simulate mode).
import type { ServerMessage } from '../../client/protocol-types.js';
import { applyMessage } from './apply-message.js';
import { BandPowerPanel } from './band-power-panel.js';
import { connectToSession } from './connection.js';
import { wireControls } from './controls.js';
import { CuesPanel } from './cues-panel.js';
import { DecisionsPanel } from './decisions-panel.js';
import { byId } from './dom.js';
import { EmotionPanel } from './emotion-panel.js';
import { monitorFrames } from './frame-monitor.js';
import { Header } from './header.js';
import { createModel } from './model.js';
import { ProbabilityBars } from './probability-bars.js';
import { ProbabilityChart } from './probability-chart.js';
import { publishProbe } from './probe.js';
import { Redraw } from './redraw.js';
import { RetrievalPanel } from './retrieval-panel.js';
import { SignalChart } from './signal-chart.js';
import { startSimulation } from './simulation.js';
import { SpectrumChart } from './spectrum-chart.js';
import { StatsPanel } from './stats-panel.js';
import { Toast } from './toast.js';
import { UPlot } from './uplot-global.js';

const params = new URLSearchParams(location.search);
const simulate = params.get('simulate');
const perfOn = simulate !== null || params.has('perf');

const probe = publishProbe();
const model = createModel();
const toast = new Toast(byId('toast'));
const redraw = new Redraw(probe.perf);
const { invalidate } = redraw;

const header = new Header(model, probe, simulate !== null);
const signal = new SignalChart(model, probe.perf);
const probChart = new ProbabilityChart(model);
const probBars = new ProbabilityBars(model);
const spectrum = new SpectrumChart(model);
const bands = new BandPowerPanel(model);
const decisions = new DecisionsPanel(model, probe);
const stats = new StatsPanel(model, probe.perf, perfOn);
const cues = new CuesPanel(model, invalidate);
const emotion = new EmotionPanel(model, probe);
const retrieval = new RetrievalPanel(model, probe);

redraw.start({
  header: () => header.draw(),
  signal: () => signal.draw(),
  prob: () => {
    probChart.draw();
    probBars.draw();
  },
  spectrum: () => spectrum.draw(),
  bands: () => bands.draw(),
  fit: () => signal.fit(),
  history: () => decisions.draw(),
  stats: () => stats.draw(),
  cues: () => cues.draw(),
  emotion: () => emotion.draw(),
  retrieval: () => retrieval.draw(),
  resize: () => {
    signal.resize();
    probChart.resize();
    spectrum.resize();
    signal.fit();
    bands.draw();
  },
});

/** One message into the model; a failure is reported as the page's own (not swallowed by the client). */
function onMessage(m: ServerMessage): void {
  const t0 = performance.now();
  try {
    applyMessage(m, model, probe, invalidate);
  } catch (e) {
    reportError(e);
  }
  const ms = performance.now() - t0;
  probe.perf.handleMsTotal += ms;
  if (ms > probe.perf.handleMsMax) probe.perf.handleMsMax = ms;
}

setInterval(() => {
  model.msgsPerSecond = model.msgsThisSecond;
  model.msgsThisSecond = 0;
  invalidate('stats');
}, 1000);

if (simulate !== null) probe.connected = true;
const controls =
  simulate !== null
    ? startSimulation({
        spec: simulate,
        decimate: Number(params.get('decimate') ?? 1),
        message: onMessage,
        state: (s) => {
          probe.state = s;
          invalidate('header');
        },
      })
    : connectToSession({
        message: onMessage,
        connected: (up) => {
          probe.connected = up;
          if (!up) probe.state = 'disconnected';
          invalidate('header');
        },
        problem: (text) => toast.show(text),
      });
wireControls(controls, probe, () => toast.show('not connected'));

// the signal chart reaches down to the band panel: refit when the right column changes height
const rightColumn = document.querySelector('.col-right');
if (typeof ResizeObserver === 'function' && rightColumn) new ResizeObserver(() => invalidate('fit')).observe(rightColumn);

let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  setTimeout(() => {
    resizeQueued = false;
    invalidate('resize');
  }, 100);
});

if (perfOn) monitorFrames(probe.perf);
if (!UPlot) toast.show('uPlot did not load (/vendor/uplot.js): charts are off');
invalidate('header');
