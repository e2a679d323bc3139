// neurorx dashboard: a plain browser ES module (no build step, no framework). Charts are uPlot
// (global `uPlot`, loaded from /vendor/uplot.js before this module runs).
//
// Data flow: every WebSocket message updates the model at once (typed-array rings for the signal
// and the decisions) and marks the parts of the page it touched as dirty; one requestAnimationFrame
// callback redraws the dirty parts, so a burst of messages costs one redraw. Charts are created
// once and only re-created when their shape changes (channel list, classes).
//
// Query parameters: token=... (sent on the WebSocket), simulate=64x1000[&decimate=4] (no server:
// feeds generated messages at that channel count and rate through the same code, for performance
// checks), perf=1 (counts animation frames and dropped frames; on in simulate mode).

const SIGNAL_SECONDS = 10;
const PROB_SECONDS = 30;
const PROB_CAPACITY = 2048;
const HISTORY_ROWS = 40;
const CUES_KEPT = 50;
const COMMANDS_KEPT = 50;
const EMOTION_TRAIL = 60;
const BAND_SYMBOLS = { delta: 'δ', theta: 'θ', alpha: 'α', beta: 'β', gamma: 'γ' };
const CLASS_COLORS = ['#3d8bfd', '#f0883e', '#3fb950', '#d2a8ff', '#f778ba', '#56d4dd'];
const TRACE_COLORS = ['#6cb6ff', '#4fc1c9'];
const FLAG_COLORS = { ok: '#aab6c4', flat: '#6e7fa0', noisy: '#d29922', railed: '#e5534b' };
const CUE_COLOR = '#c678dd';
const AXIS = { stroke: '#8c9aab', grid: { stroke: '#242b35', width: 1 }, ticks: { stroke: '#2a323d', width: 1 } };

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const simulate = params.get('simulate');
const perfOn = simulate !== null || params.has('perf');

/** What tests (and curious people) can read: message counts by type, session state, last decision. */
const nx = {
  messages: {},
  state: 'connecting',
  lastDecision: null,
  lastEmotion: null,
  lastRetrieval: null,
  connected: false,
  /** Redraws and their ms, ms spent parsing and applying messages, animation frames seen and missed (perf mode). */
  perf: { draws: 0, drawMsTotal: 0, drawMsMax: 0, drawMsAvg: 0, handleMsTotal: 0, handleMsMax: 0, buildMsTotal: 0, frames: 0, dropped: 0 },
};
window.__neurorx = nx;

// ---------------------------------------------------------------------------------------------
// Model

const model = {
  channels: [],
  sampleRate: 0,
  classes: [],
  hasSmoothed: false,
  /** @type {SignalRing | null} */
  ring: null,
  flags: [],
  spectrum: null,
  cues: [], // { t, label }
  commands: [], // { t, command, label }
  pendingHistory: [], // decisions not yet in the history list
  trials: null,
  lastCue: null,
  lastCueAt: 0,
  msgsThisSecond: 0,
  msgsPerSecond: 0,
  /** Image retrieval: the last onsets (newest first) and how often the shown image was in the top k. */
  retrieval: { recent: [], hits: 0, scored: 0 },
  /** The probabilities the bars show: the last decision's (smoothed when it has them). */
  lastProbs: null,
  /** The last EMOTION_TRAIL emotion estimates' scores, oldest first: { v, a } in [-1, 1]. */
  emotionTrail: [],
};

/**
 * The last SIGNAL_SECONDS of every channel: one channel-major Float32Array plus a Float64Array of
 * sample times, written in place; `written` counts every sample ever pushed (stable buckets).
 */
class SignalRing {
  constructor(channels, rate) {
    this.n = channels;
    this.rate = rate;
    this.cap = Math.max(16, Math.ceil(SIGNAL_SECONDS * rate) + 1);
    this.data = new Float32Array(this.n * this.cap);
    this.time = new Float64Array(this.cap);
    this.head = 0;
    this.count = 0;
    this.written = 0;
  }

  push(t0, rate, rows) {
    const { n, cap, data, time } = this;
    const len = rows.length ? rows[0].length : 0;
    const skip = Math.max(0, len - cap);
    let pos = this.head;
    for (let s = skip; s < len; s++) {
      time[pos] = t0 + s / rate;
      if (++pos === cap) pos = 0;
    }
    for (let c = 0; c < n; c++) {
      const row = rows[c];
      const base = c * cap;
      pos = this.head;
      if (!row) continue;
      for (let s = skip; s < len; s++) {
        data[base + pos] = row[s];
        if (++pos === cap) pos = 0;
      }
    }
    const added = len - skip;
    this.head = (this.head + added) % cap;
    this.count = Math.min(cap, this.count + added);
    this.written += added;
  }

  get lastTime() {
    return this.count ? this.time[(this.head - 1 + this.cap) % this.cap] : 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Redraw scheduling: at most one redraw per animation frame, only of what changed.

const dirty = new Set();
let frameRequested = false;

function invalidate(part) {
  dirty.add(part);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(frame);
  }
}

function frame() {
  frameRequested = false;
  const t0 = performance.now();
  const parts = [...dirty];
  dirty.clear();
  for (const part of parts) {
    try {
      RENDER[part]();
    } catch (e) {
      console.error(`dashboard: drawing ${part} failed`, e);
    }
  }
  // uPlot paints in a microtask queued by setData: measure after it
  queueMicrotask(() => {
    const ms = performance.now() - t0;
    const p = nx.perf;
    p.draws++;
    p.drawMsTotal += ms;
    p.drawMsAvg = p.drawMsTotal / p.draws;
    if (ms > p.drawMsMax) p.drawMsMax = ms;
  });
}

// ---------------------------------------------------------------------------------------------
// Charts

const hasUPlot = typeof window.uPlot === 'function';
const charts = { signal: null, prob: null, spectrum: null };
const chartShape = { signal: '', prob: '' };
const pxRatio = () => (hasUPlot && window.uPlot.pxRatio) || window.devicePixelRatio || 1;

function widthOf(el) {
  return Math.max(200, Math.floor(el.clientWidth));
}

/** The signal chart's height: enough rows for every channel, and at least down to the band panel's bottom. */
function signalHeight(n) {
  const row = n <= 24 ? 24 : n <= 40 ? 16 : 12;
  const rows = Math.max(320, n * row + 40);
  const chart = $('signal-chart');
  const beside = $('bands-panel');
  if (!chart || !beside || getComputedStyle(chart.closest('main')).flexDirection === 'column') return rows;
  const fill = Math.floor(beside.getBoundingClientRect().bottom - chart.getBoundingClientRect().top - 11);
  return Math.max(rows, Math.min(fill, 1600));
}

function fitSignalHeight() {
  const u = charts.signal;
  if (!u) return;
  const h = signalHeight(model.channels.length);
  if (Math.abs(h - u.height) > 2) u.setSize({ width: u.width, height: h });
}

// Display buffers for the signal chart, reused between redraws (grown when needed).
const disp = { xs: new Float64Array(0), xpx: new Float64Array(0), ys: [], points: 0, bucketStart: new Int32Array(0), sd: new Float64Array(0) };

function ensureSignalChart() {
  const names = model.channels;
  const shape = names.join('\u0000');
  if (!hasUPlot || (charts.signal && chartShape.signal === shape)) return;
  charts.signal?.destroy();
  chartShape.signal = shape;
  const n = names.length;
  const el = $('signal-chart');
  el.textContent = '';
  disp.sd = new Float64Array(n);
  disp.ys = [];
  const opts = {
    width: widthOf(el),
    height: signalHeight(n),
    padding: [6, 40, 0, 52],
    legend: { show: false },
    cursor: { show: false, drag: { x: false, y: false } },
    select: { show: false },
    scales: {
      x: { time: false, range: () => signalXRange() },
      y: { auto: false, range: () => [0, n] },
    },
    axes: [
      { ...AXIS, size: 28, values: (u, splits) => splits.map((s) => `${s.toFixed(0)} s`) },
      { show: false },
    ],
    // uPlot draws the frame (time axis, grid, sizing); the traces are drawn by drawTraces, one
    // path per colour instead of one uPlot series per channel (64 series cost twice as much)
    series: [{}],
    hooks: { drawAxes: [drawSignalUnderlay], draw: [drawTraces, drawSignalLabels] },
  };
  charts.signal = new window.uPlot(opts, [new Float64Array(0)], el);
}

function traceColor(i) {
  const f = model.flags[i];
  return f && f !== 'ok' ? FLAG_COLORS[f] : TRACE_COLORS[i % 2];
}

function signalXRange() {
  const end = model.ring && model.ring.count ? model.ring.lastTime : SIGNAL_SECONDS;
  return [end - SIGNAL_SECONDS, end];
}

/**
 * Fills the display buffers from the ring: at most two points (min, max) per pixel column, the
 * columns aligned to absolute sample numbers so they do not shimmer as the window scrolls; each
 * channel centred on its row and scaled by its own (smoothed) standard deviation.
 */
function buildSignalDisplay(plotWidth) {
  const ring = model.ring;
  const n = model.channels.length;
  if (!ring || ring.n !== n || ring.count === 0) return 0;
  const { cap, count, data, time } = ring;
  const oldest = (ring.head - count + cap) % cap;
  const first = ring.written - count;
  const step = Math.max(1, Math.ceil(count / Math.max(50, plotWidth / 2)));
  // bucket layout (shared by all channels)
  const maxBuckets = Math.ceil(count / step) + 2;
  if (disp.bucketStart.length < maxBuckets + 1) disp.bucketStart = new Int32Array(maxBuckets + 1);
  const starts = disp.bucketStart;
  let buckets = 0;
  let prevId = -1;
  for (let k = 0; k < count; k++) {
    const id = Math.floor((first + k) / step);
    if (id !== prevId) {
      starts[buckets++] = k;
      prevId = id;
    }
  }
  starts[buckets] = count;
  const points = step === 1 ? count : 2 * buckets;
  if (disp.xs.length < points) {
    const size = Math.ceil(points * 1.25);
    disp.xs = new Float64Array(size);
    disp.ys = [];
  }
  for (let c = 0; c < n; c++) if (!disp.ys[c] || disp.ys[c].length < disp.xs.length) disp.ys[c] = new Float64Array(disp.xs.length);
  const xs = disp.xs;
  if (step === 1) {
    for (let k = 0; k < count; k++) {
      let p = oldest + k;
      if (p >= cap) p -= cap;
      xs[k] = time[p];
    }
  } else {
    for (let b = 0; b < buckets; b++) {
      let p = oldest + starts[b];
      if (p >= cap) p -= cap;
      xs[2 * b] = xs[2 * b + 1] = time[p];
    }
  }
  for (let c = 0; c < n; c++) {
    const ys = disp.ys[c];
    const base = c * cap;
    let sum = 0;
    let sumSq = 0;
    if (step === 1) {
      for (let k = 0; k < count; k++) {
        let p = oldest + k;
        if (p >= cap) p -= cap;
        const v = data[base + p];
        ys[k] = v;
        sum += v;
        sumSq += v * v;
      }
    } else {
      for (let b = 0; b < buckets; b++) {
        let lo = Infinity;
        let hi = -Infinity;
        const end = starts[b + 1];
        let p = oldest + starts[b];
        if (p >= cap) p -= cap;
        for (let k = starts[b]; k < end; k++) {
          const v = data[base + p];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
          sum += v;
          sumSq += v * v;
          if (++p === cap) p = 0;
        }
        ys[2 * b] = lo;
        ys[2 * b + 1] = hi;
      }
    }
    const mean = sum / count;
    const sd = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    const prev = disp.sd[c];
    const s = prev > 0 ? prev + 0.25 * (sd - prev) : sd;
    disp.sd[c] = s;
    // +-3 SD spans 90 % of a row; big excursions are clipped to a little over a row
    const gain = 0.45 / (3 * Math.max(s, 0.05));
    const centre = n - c - 0.5;
    const lo = centre - 0.75;
    const hi = centre + 0.75;
    for (let i = 0; i < points; i++) {
      const y = centre + (ys[i] - mean) * gain;
      ys[i] = y < lo ? lo : y > hi ? hi : y;
    }
  }
  return points;
}

function drawSignals() {
  ensureSignalChart();
  const u = charts.signal;
  if (!u) return;
  const t0 = performance.now();
  const points = buildSignalDisplay(u.bbox.width / pxRatio());
  nx.perf.buildMsTotal += performance.now() - t0;
  disp.points = points;
  u.setData([disp.xs.subarray(0, points)]);
  const ring = model.ring;
  if (ring) $('signal-info').textContent = `${model.channels.length} ch · ${fmt(ring.rate, 0)} Hz shown · ${SIGNAL_SECONDS} s`;
}

/** Every channel's trace from the display buffers, batched into one path per colour. */
function drawTraces(u) {
  const points = disp.points;
  const n = model.channels.length;
  if (!points || !n) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const xmin = u.scales.x.min;
  const kx = width / (u.scales.x.max - xmin);
  const ky = height / n;
  if (disp.xpx.length < points) disp.xpx = new Float64Array(disp.xs.length);
  const xpx = disp.xpx;
  for (let i = 0; i < points; i++) xpx[i] = left + (disp.xs[i] - xmin) * kx;
  const byColour = new Map();
  for (let c = 0; c < n; c++) {
    const colour = traceColor(c);
    const list = byColour.get(colour);
    if (list) list.push(c);
    else byColour.set(colour, [c]);
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.lineWidth = pxRatio();
  ctx.lineJoin = 'bevel';
  const bottom = top + height;
  for (const [colour, list] of byColour) {
    ctx.beginPath();
    for (const c of list) {
      const ys = disp.ys[c];
      ctx.moveTo(xpx[0], bottom - ys[0] * ky);
      for (let i = 1; i < points; i++) ctx.lineTo(xpx[i], bottom - ys[i] * ky);
    }
    ctx.strokeStyle = colour;
    ctx.stroke();
  }
  ctx.restore();
}

// Row baselines and cue lines, under the traces.
function drawSignalUnderlay(u) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const n = model.channels.length;
  const pr = pxRatio();
  ctx.save();
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#1f252e';
  ctx.beginPath();
  for (let c = 0; c < n; c++) {
    const y = Math.round(u.valToPos(n - c - 0.5, 'y', true)) + 0.5;
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
  }
  ctx.stroke();
  drawCueLines(u, ctx, left, top, width, height, pr);
  ctx.restore();
}

function drawCueLines(u, ctx, left, top, width, height, pr) {
  const [xmin, xmax] = [u.scales.x.min, u.scales.x.max];
  ctx.strokeStyle = CUE_COLOR;
  ctx.fillStyle = CUE_COLOR;
  ctx.setLineDash([4 * pr, 3 * pr]);
  ctx.font = `${10 * pr}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  for (const cue of model.cues) {
    if (cue.t < xmin || cue.t > xmax) continue;
    const x = Math.round(u.valToPos(cue.t, 'x', true)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText(cue.label, x + 3 * pr, top + 2 * pr);
  }
  ctx.setLineDash([]);
}

// Channel names left of the traces (coloured by their quality flag), and each row's scale right.
function drawSignalLabels(u) {
  const ctx = u.ctx;
  const n = model.channels.length;
  const pr = pxRatio();
  const row = (u.bbox.height / Math.max(1, n)) / pr;
  const size = Math.max(8, Math.min(12, row - 2));
  ctx.save();
  ctx.font = `${size * pr}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  for (let c = 0; c < n; c++) {
    const y = u.valToPos(n - c - 0.5, 'y', true);
    const flag = model.flags[c] ?? 'ok';
    ctx.textAlign = 'right';
    ctx.fillStyle = FLAG_COLORS[flag];
    ctx.fillText(flag === 'ok' ? model.channels[c] : `${model.channels[c]} ${flag[0]}`, u.bbox.left - 6 * pr, y);
    if (row >= 11 && disp.sd[c] > 0) {
      ctx.textAlign = 'left';
      ctx.fillStyle = '#5d6b7b';
      ctx.font = `${Math.min(10, size) * pr}px system-ui, sans-serif`;
      ctx.fillText(scaleLabel(3 * disp.sd[c]), u.bbox.left + u.bbox.width + 4 * pr, y);
      ctx.font = `${size * pr}px system-ui, sans-serif`;
    }
  }
  ctx.restore();
}

function scaleLabel(uv) {
  if (uv >= 1000) return `${(uv / 1000).toFixed(1)}mV`;
  return uv >= 10 ? `${uv.toFixed(0)}µV` : `${uv.toFixed(1)}µV`;
}

// --- probabilities over time

const probRing = { t: new Float64Array(PROB_CAPACITY), p: [], s: [], head: 0, count: 0 };
const probDisp = { t: new Float64Array(PROB_CAPACITY), p: [], s: [] };

function resetProbRing() {
  probRing.p = model.classes.map(() => new Float32Array(PROB_CAPACITY));
  probRing.s = model.classes.map(() => new Float32Array(PROB_CAPACITY));
  probDisp.p = model.classes.map(() => new Float64Array(PROB_CAPACITY));
  probDisp.s = model.classes.map(() => new Float64Array(PROB_CAPACITY));
  probRing.head = probRing.count = 0;
}

function ensureProbChart() {
  const shape = `${model.classes.join('\u0000')}|${model.hasSmoothed}`;
  if (!hasUPlot || !model.classes.length || (charts.prob && chartShape.prob === shape)) return;
  charts.prob?.destroy();
  chartShape.prob = shape;
  const el = $('prob-chart');
  el.textContent = '';
  const series = [{ label: 't' }];
  model.classes.forEach((c, i) => {
    const color = CLASS_COLORS[i % CLASS_COLORS.length];
    series.push({ label: c, stroke: model.hasSmoothed ? color + '77' : color, width: model.hasSmoothed ? 1 : 2, points: { show: false } });
  });
  if (model.hasSmoothed) {
    model.classes.forEach((c, i) => series.push({ label: `${c} (smoothed)`, stroke: CLASS_COLORS[i % CLASS_COLORS.length], width: 2, points: { show: false } }));
  }
  const opts = {
    width: widthOf(el),
    height: 200,
    padding: [24, 12, 0, 0],
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: false, range: () => probXRange() },
      y: { auto: false, range: () => [0, 1] },
    },
    axes: [
      { ...AXIS, size: 28, values: (u, splits) => splits.map((s) => `${s.toFixed(0)} s`) },
      { ...AXIS, size: 50, splits: () => [0, 0.25, 0.5, 0.75, 1], values: (u, splits) => splits.map((s) => `${Math.round(s * 100)}%`) },
    ],
    series,
    hooks: { drawAxes: [drawProbUnderlay], draw: [drawCommandMarks] },
  };
  charts.prob = new window.uPlot(opts, [new Float64Array(0), ...series.slice(1).map(() => new Float64Array(0))], el);
}

function probXRange() {
  const last = probRing.count ? probRing.t[(probRing.head - 1 + PROB_CAPACITY) % PROB_CAPACITY] : PROB_SECONDS;
  return [last - PROB_SECONDS, last];
}

function drawProbUnderlay(u) {
  const { left, top, width, height } = u.bbox;
  u.ctx.save();
  drawCueLines(u, u.ctx, left, top, width, height, pxRatio());
  u.ctx.restore();
}

function drawCommandMarks(u) {
  const ctx = u.ctx;
  const pr = pxRatio();
  const { top } = u.bbox;
  const [xmin, xmax] = [u.scales.x.min, u.scales.x.max];
  ctx.save();
  ctx.font = `bold ${10 * pr}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  for (const c of model.commands) {
    if (c.t < xmin || c.t > xmax) continue;
    const x = u.valToPos(c.t, 'x', true);
    const i = model.classes.indexOf(c.label);
    ctx.fillStyle = i >= 0 ? CLASS_COLORS[i % CLASS_COLORS.length] : '#f0c24b';
    ctx.beginPath();
    ctx.moveTo(x - 4 * pr, top - 9 * pr);
    ctx.lineTo(x + 4 * pr, top - 9 * pr);
    ctx.lineTo(x, top - 2 * pr);
    ctx.fill();
    ctx.fillText(c.command, x, top - 10 * pr);
  }
  ctx.restore();
}

function drawProbs() {
  ensureProbChart();
  renderProbBars();
  const u = charts.prob;
  if (!u) return;
  const n = probRing.count;
  const start = (probRing.head - n + PROB_CAPACITY) % PROB_CAPACITY;
  for (let k = 0; k < n; k++) {
    let p = start + k;
    if (p >= PROB_CAPACITY) p -= PROB_CAPACITY;
    probDisp.t[k] = probRing.t[p];
    for (let c = 0; c < model.classes.length; c++) {
      probDisp.p[c][k] = probRing.p[c][p];
      probDisp.s[c][k] = probRing.s[c][p];
    }
  }
  const data = [probDisp.t.subarray(0, n), ...probDisp.p.map((a) => a.subarray(0, n))];
  if (model.hasSmoothed) data.push(...probDisp.s.map((a) => a.subarray(0, n)));
  u.setData(data);
}

let probBarEls = [];
function renderProbBars() {
  const d = nx.lastDecision;
  const box = $('prob-bars');
  if (probBarEls.length !== model.classes.length) {
    box.textContent = '';
    probBarEls = model.classes.map((c, i) => {
      const name = el('span', '', c);
      const bar = el('div', 'bar');
      const fill = el('i');
      fill.style.background = CLASS_COLORS[i % CLASS_COLORS.length];
      bar.append(fill);
      const pct = el('span', 'pct', '-');
      box.append(name, bar, pct);
      return { fill, pct };
    });
  }
  const probs = model.lastProbs;
  if (!probs) return;
  model.classes.forEach((c, i) => {
    const p = probs[c] ?? 0;
    probBarEls[i].fill.style.width = `${(p * 100).toFixed(1)}%`;
    probBarEls[i].pct.textContent = `${(p * 100).toFixed(0)}%`;
  });
  if (d) $('decision-now').textContent = d.command ? `${d.label} ▶ ${d.command}` : d.label;
}

// --- spectrum and band power

function ensureSpectrumChart() {
  if (!hasUPlot || charts.spectrum) return;
  const el = $('spectrum-chart');
  el.textContent = '';
  const opts = {
    width: widthOf(el),
    height: 170,
    padding: [16, 22, 0, 0],
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: false },
      // a flat spectrum (a constant power, e.g. all at the floor) still needs a span to draw
      y: { range: (u, lo, hi) => (Number.isFinite(lo) && Number.isFinite(hi) ? [Math.floor(lo / 10) * 10, Math.max(Math.ceil(hi / 10) * 10, Math.floor(lo / 10) * 10 + 10)] : [-10, 10]) },
    },
    axes: [
      { ...AXIS, size: 28, values: (u, splits) => splits.map((s) => `${s.toFixed(0)} Hz`) },
      { ...AXIS, size: 40 },
    ],
    series: [{}, { label: 'power', stroke: '#e5c07b', fill: '#e5c07b22', width: 1.5, points: { show: false } }],
    hooks: { drawAxes: [drawBandShading] },
  };
  charts.spectrum = new window.uPlot(opts, [[], []], el);
}

function drawBandShading(u) {
  const ctx = u.ctx;
  const pr = pxRatio();
  const { top, height } = u.bbox;
  ctx.save();
  ctx.font = `${11 * pr}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  // The bands come with each spectrum (the server defines them); nothing to shade before the first.
  Object.entries(model.spectrum?.bandEdges ?? {}).forEach(([b, [f0, f1]], i) => {
    if (f0 > u.scales.x.max) return;
    const x0 = u.valToPos(f0, 'x', true);
    const x1 = u.valToPos(Math.min(f1, u.scales.x.max), 'x', true);
    ctx.fillStyle = i % 2 ? '#ffffff06' : '#ffffff10';
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.fillStyle = '#8c9aab';
    ctx.fillText(BAND_SYMBOLS[b] ?? b, (x0 + x1) / 2, top - 13 * pr);
  });
  ctx.restore();
}

function drawSpectrum() {
  ensureSpectrumChart();
  const s = model.spectrum;
  if (!s || !charts.spectrum) return;
  const maxF = Math.min(s.freqs[s.freqs.length - 1] ?? 0, 60);
  let n = s.freqs.length;
  while (n > 1 && s.freqs[n - 1] > maxF) n--;
  charts.spectrum.setData([s.freqs.slice(0, n), s.power.slice(0, n)]);
}

let bandRows = null;
function drawBands() {
  const s = model.spectrum;
  if (!s) return;
  const names = Object.keys(s.bands);
  const means = names.map((b) => {
    const v = s.bands[b];
    let sum = 0;
    for (const x of v) sum += x;
    return v.length ? sum / v.length : NaN;
  });
  const list = $('band-list');
  if (!bandRows || bandRows.names.join() !== names.join()) {
    list.textContent = '';
    bandRows = { names, rows: names.map((b) => {
      const bar = el('div', 'bar');
      const fill = el('i');
      bar.append(fill);
      const val = el('span', 'val');
      list.append(el('span', '', b), bar, val);
      return { fill, val };
    }) };
  }
  const finite = means.filter(Number.isFinite);
  const lo = Math.min(...finite) - 3;
  const hi = Math.max(...finite);
  names.forEach((b, i) => {
    const m = means[i];
    bandRows.rows[i].fill.style.width = Number.isFinite(m) ? `${(((m - lo) / Math.max(1e-9, hi - lo)) * 100).toFixed(1)}%` : '0';
    bandRows.rows[i].val.textContent = Number.isFinite(m) ? `${m.toFixed(1)} dB` : '-';
  });
  drawBandMap(names);
}

// Heat map: one row per band, one column per channel, each row normalised to its own range.
function drawBandMap(names) {
  const s = model.spectrum;
  const cv = $('band-map');
  const { g, w, h, pr } = clearCanvas(cv, 110);
  const labelW = 44 * pr;
  const rowH = h / Math.max(1, names.length);
  const chans = Math.max(1, ...names.map((b) => s.bands[b].length));
  const colW = (w - labelW) / chans;
  g.font = `${10 * pr}px system-ui, sans-serif`;
  g.textBaseline = 'middle';
  names.forEach((b, r) => {
    const v = s.bands[b];
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const span = Math.max(1e-9, hi - lo);
    for (let c = 0; c < v.length; c++) {
      g.fillStyle = heat((v[c] - lo) / span);
      g.fillRect(labelW + c * colW, r * rowH + 1, Math.max(1, colW - (colW > 4 ? 1 : 0)), rowH - 2);
    }
    g.fillStyle = '#8c9aab';
    g.fillText(b, 2 * pr, r * rowH + rowH / 2);
  });
  cv.dataset.channels = String(chans);
}

/** Sizes a canvas to its CSS width and `cssHeight` at the device's pixel ratio, and clears it. */
function clearCanvas(cv, cssHeight) {
  const pr = window.devicePixelRatio || 1;
  const w = Math.max(100, Math.floor(cv.clientWidth * pr));
  const h = Math.floor(cssHeight * pr);
  if (cv.width !== w || cv.height !== h) {
    cv.width = w;
    cv.height = h;
  }
  const g = cv.getContext('2d');
  g.clearRect(0, 0, w, h);
  return { g, w, h, pr };
}

function heat(x) {
  // dark blue -> teal -> yellow
  const stops = [[20, 30, 70], [30, 140, 150], [240, 220, 90]];
  const t = Math.max(0, Math.min(1, x)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const f = t - i;
  const a = stops[i];
  const b = stops[i + 1];
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)},${Math.round(a[1] + (b[1] - a[1]) * f)},${Math.round(a[2] + (b[2] - a[2]) * f)})`;
}

$('band-map').addEventListener('mousemove', (ev) => {
  const s = model.spectrum;
  const cv = ev.currentTarget;
  if (!s || !bandRows) return;
  const rect = cv.getBoundingClientRect();
  const labelW = 44;
  const chans = Number(cv.dataset.channels || 1);
  const c = Math.floor(((ev.clientX - rect.left - labelW) / (rect.width - labelW)) * chans);
  const r = Math.floor(((ev.clientY - rect.top) / rect.height) * bandRows.names.length);
  const band = bandRows.names[r];
  const v = band && s.bands[band][c];
  cv.title = v !== undefined && c >= 0 ? `${model.channels[c] ?? `#${c + 1}`} ${band}: ${v.toFixed(1)} dB` : '';
});

// ---------------------------------------------------------------------------------------------
// Text panels

function el(tag, cls = '', text = '') {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

function fmt(x, digits = 1) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function topClass(probs) {
  let best = '';
  let p = -1;
  for (const [c, v] of Object.entries(probs)) if (v > p) [best, p] = [c, v];
  return [best, p];
}

function drawHistory() {
  const list = $('history');
  const items = model.pendingHistory.splice(0).slice(-HISTORY_ROWS);
  const frag = document.createDocumentFragment();
  for (let i = items.length - 1; i >= 0; i--) {
    const d = items[i];
    const li = el('li', d.command ? 'command' : '');
    const [top, p] = topClass(d.probabilities);
    li.append(
      el('span', '', `${fmt(d.timestamp, 2)} s`),
      el('span', '', d.label),
      el('span', '', top === d.label ? `${(p * 100).toFixed(0)}%` : `${top} ${(p * 100).toFixed(0)}%`),
      el('span', 'muted', `${fmt(d.latencyMs, 1)} ms`),
      d.command ? el('span', 'cmd', `▶ command ${d.command}`) : el('span', 'muted', d.state ?? ''),
    );
    frag.append(li);
  }
  list.prepend(frag);
  while (list.childElementCount > HISTORY_ROWS) list.lastElementChild.remove();
}

function drawHeader() {
  const badge = $('state');
  badge.textContent = nx.state;
  badge.dataset.state = nx.state;
  const conn = $('conn');
  conn.textContent = simulate !== null ? 'simulated' : nx.connected ? 'online' : 'offline';
  conn.classList.toggle('online', nx.connected);
  $('btn-calibrate').disabled = !nx.connected || nx.state === 'calibrating';
  $('btn-stop-calibration').disabled = !nx.connected || nx.state !== 'calibrating';
  const pause = $('btn-pause');
  pause.textContent = nx.state === 'paused' ? 'Resume' : 'Pause';
  pause.disabled = !nx.connected || nx.state === 'stopped';
  const calib = $('calib');
  const trials = model.trials;
  calib.hidden = !(nx.state === 'calibrating' && trials && Object.keys(trials).length);
  if (!calib.hidden) {
    // the status detail says how many trials per class calibration collects ("collecting 10 trials per class")
    const target = Number(/(\d+) trials per class/.exec($('detail').textContent)?.[1]);
    const most = target > 0 ? target : Math.max(1, ...Object.values(trials));
    calib.textContent = '';
    calib.append(el('span', 'muted', 'trials'));
    for (const [label, count] of Object.entries(trials)) {
      const t = el('span', 'trial');
      const meter = el('span', 'meter');
      const fill = el('i');
      fill.style.width = `${Math.min(1, count / most) * 100}%`;
      meter.append(fill);
      t.append(target > 0 ? `${label} ${count}/${target}` : `${label} ${count}`, meter);
      calib.append(t);
    }
  }
}

let lastStats = null;
function drawStats() {
  const s = lastStats;
  if (s) {
    $('st-latency').textContent = `${fmt(s.latencyMs?.p50, 2)} / ${fmt(s.latencyMs?.p99, 2)} ms`;
    $('st-rate').textContent = fmt(s.decisionsPerSecond, 1);
    $('st-samples').textContent = String(s.samplesDropped);
    $('st-samples').classList.toggle('alert', s.samplesDropped > 0);
    $('st-messages').textContent = String(s.messagesDropped);
    $('st-messages').classList.toggle('alert', s.messagesDropped > 0);
    $('st-clients').textContent = String(s.clients);
  }
  $('st-page-msgs').textContent = String(model.msgsPerSecond);
  const p = nx.perf;
  $('st-page-draw').textContent = `${fmt(p.drawMsAvg, 2)} / ${fmt(p.drawMsMax, 1)}` + (perfOn ? ` · dropped frames ${p.dropped}/${p.frames}` : '');
}

function drawCues() {
  const list = $('cues');
  list.textContent = '';
  for (const c of model.cues.slice(-8).reverse()) list.append(el('li', '', `${fmt(c.t, 2)} s  ${c.label}`));
  const now = $('cue-now');
  if (model.lastCue) {
    const fresh = performance.now() - model.lastCueAt < 4000;
    now.textContent = `cue: ${model.lastCue.label} at ${fmt(model.lastCue.t, 1)} s`;
    now.classList.toggle('fresh', fresh);
    if (fresh) setTimeout(() => invalidate('cues'), 4100);
  }
}

let toastTimer = 0;
function showError(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

const RENDER = {
  header: drawHeader,
  signal: drawSignals,
  prob: drawProbs,
  spectrum: drawSpectrum,
  bands: drawBands,
  fit: fitSignalHeight,
  history: drawHistory,
  stats: drawStats,
  cues: drawCues,
  emotion: drawEmotion,
  retrieval: drawRetrieval,
  resize() {
    for (const [name, u] of Object.entries(charts)) {
      if (!u) continue;
      const box = $(`${name === 'prob' ? 'prob' : name}-chart`);
      u.setSize({ width: widthOf(box), height: u.height });
    }
    fitSignalHeight();
    if (model.spectrum) drawBands();
  },
};

// ---------------------------------------------------------------------------------------------
// Messages

function setClasses(classes) {
  if (!classes || !classes.length || classes.join('\u0000') === model.classes.join('\u0000')) return;
  model.classes = [...classes];
  resetProbRing();
  invalidate('prob');
}

function setChannels(names) {
  if (names.join('\u0000') === model.channels.join('\u0000')) return;
  model.channels = [...names];
  model.ring = null;
  model.flags = names.map(() => 'ok');
  invalidate('signal');
}

function handle(m) {
  nx.messages[m.type] = (nx.messages[m.type] ?? 0) + 1;
  model.msgsThisSecond++;
  switch (m.type) {
    case 'hello':
      $('stream').textContent = `${m.pipeline.name} · ${m.stream.name} · ${m.stream.channels.length} ch @ ${m.stream.sampleRate} Hz`;
      model.sampleRate = m.stream.sampleRate;
      setChannels(m.stream.channels);
      setClasses(m.classes);
      nx.state = m.state;
      // A page that joins mid-calibration learns the progress from the hello.
      if (m.detail) $('detail').textContent = m.detail;
      model.trials = m.state === 'calibrating' && m.trials ? m.trials : null;
      invalidate('header');
      break;
    case 'status':
      nx.state = m.state;
      // (the answer to our subscribe says only what we subscribed to: keep the session's detail)
      if (m.detail && !m.subscribed) $('detail').textContent = m.detail;
      if (m.trials) model.trials = m.trials;
      else if (m.state !== 'calibrating') model.trials = null;
      if (m.calibrationAccuracy != null) $('st-acc').textContent = `${(m.calibrationAccuracy * 100).toFixed(1)} %`;
      setClasses(m.classes);
      invalidate('header');
      break;
    case 'signal':
      onSignal(m);
      break;
    case 'spectrum':
      model.spectrum = m;
      invalidate('spectrum');
      invalidate('bands');
      break;
    case 'decision':
      onDecision(m);
      break;
    case 'command':
      model.commands.push({ t: m.timestamp, command: m.command, label: m.label });
      if (model.commands.length > COMMANDS_KEPT) model.commands.shift();
      invalidate('prob');
      break;
    case 'cue':
      model.cues.push({ t: m.timestamp, label: m.label });
      if (model.cues.length > CUES_KEPT) model.cues.shift();
      model.lastCue = { t: m.timestamp, label: m.label };
      model.lastCueAt = performance.now();
      invalidate('cues');
      invalidate('signal');
      invalidate('prob');
      break;
    case 'emotion':
      onEmotion(m);
      break;
    case 'retrieval':
      onRetrieval(m);
      break;
    case 'stats':
      lastStats = m;
      invalidate('stats');
      break;
    case 'error':
      showError(m.message);
      break;
    default:
      break;
  }
}

function onSignal(m) {
  setChannels(m.channels);
  const n = m.channels.length;
  let ring = model.ring;
  // a new rate, time running backwards (a looping replay, a restarted source) or a gap of more
  // than a second (a stale frame, a long drop-out): start over rather than draw lines across it
  if (!ring || ring.n !== n || ring.rate !== m.rate || (ring.count && Math.abs(m.t0 - ring.lastTime - 1 / m.rate) > 1)) {
    ring = model.ring = new SignalRing(n, m.rate);
    disp.sd.fill(0);
  }
  ring.push(m.t0, m.rate, m.data);
  if (m.flags) {
    for (let i = 0; i < n; i++) model.flags[i] = m.flags[i] ?? 'ok';
  }
  invalidate('signal');
}

function onDecision(m) {
  nx.lastDecision = m;
  if (m.smoothed && !model.hasSmoothed) {
    model.hasSmoothed = true;
    invalidate('prob');
  }
  pushProbabilities(m.timestamp, m.probabilities, m.smoothed);
  model.pendingHistory.push(m);
  if (model.pendingHistory.length > HISTORY_ROWS) model.pendingHistory.shift();
  invalidate('history');
}

/** One decision's class probabilities (and smoothed ones, if any) into the probability chart's ring. */
function pushProbabilities(t, probs, smoothed) {
  if (!model.classes.length) setClasses(Object.keys(probs));
  const r = probRing;
  if (r.p.length !== model.classes.length) resetProbRing();
  if (r.count && t < r.t[(r.head - 1 + PROB_CAPACITY) % PROB_CAPACITY] - 1) r.head = r.count = 0;
  r.t[r.head] = t;
  model.classes.forEach((c, i) => {
    r.p[i][r.head] = probs[c] ?? 0;
    r.s[i][r.head] = (smoothed ?? probs)[c] ?? 0;
  });
  r.head = (r.head + 1) % PROB_CAPACITY;
  r.count = Math.min(PROB_CAPACITY, r.count + 1);
  model.lastProbs = smoothed ?? probs;
  invalidate('prob');
}

function onEmotion(m) {
  nx.lastEmotion = m;
  // The per-target probabilities share the probability chart, as "valence:high" and so on.
  const flat = {};
  for (const [target, probs] of Object.entries(m.probabilities ?? {})) for (const [c, p] of Object.entries(probs)) flat[`${target}:${c}`] = p;
  pushProbabilities(m.timestamp, flat);
  model.emotionTrail.push({ v: m.valence?.score ?? 0, a: m.arousal?.score ?? 0 });
  if (model.emotionTrail.length > EMOTION_TRAIL) model.emotionTrail.shift();
  invalidate('emotion');
}

/** Valence (x) and arousal (y) on [-1, 1] squares: quadrant names, the trail and the current estimate. */
function drawEmotion() {
  const panel = $('emotion-panel');
  panel.hidden = false;
  const m = nx.lastEmotion;
  const axis = (name, a) => (a ? `${name} ${a.label} (${a.score >= 0 ? '+' : ''}${a.score.toFixed(2)})` : '');
  $('emotion-now').textContent = [axis('valence', m.valence), axis('arousal', m.arousal)].filter(Boolean).join(' · ');
  const { g, w, h, pr } = clearCanvas($('emotion-plane'), 180);
  const x = (v) => w / 2 + (v * (w - 20 * pr)) / 2;
  const y = (a) => h / 2 - (a * (h - 20 * pr)) / 2;
  g.strokeStyle = '#2a323d';
  g.beginPath();
  g.moveTo(x(-1), y(0));
  g.lineTo(x(1), y(0));
  g.moveTo(x(0), y(-1));
  g.lineTo(x(0), y(1));
  g.stroke();
  g.fillStyle = '#8c9aab';
  g.font = `${10 * pr}px system-ui, sans-serif`;
  g.fillText('tense', 6 * pr, 14 * pr);
  g.fillText('excited', w - 44 * pr, 14 * pr);
  g.fillText('sad', 6 * pr, h - 6 * pr);
  g.fillText('calm', w - 32 * pr, h - 6 * pr);
  const trail = model.emotionTrail;
  trail.forEach((p, i) => {
    const last = i === trail.length - 1;
    g.globalAlpha = last ? 1 : 0.15 + (0.5 * i) / trail.length;
    g.fillStyle = last ? '#f0883e' : '#3d8bfd';
    g.beginPath();
    g.arc(x(p.v), y(p.a), (last ? 6 : 3) * pr, 0, 2 * Math.PI);
    g.fill();
  });
  g.globalAlpha = 1;
}

const RETRIEVALS_SHOWN = 12;

function onRetrieval(m) {
  nx.lastRetrieval = m;
  const r = model.retrieval;
  r.recent.unshift(m);
  if (r.recent.length > RETRIEVALS_SHOWN) r.recent.pop();
  if (m.shown) {
    r.scored++;
    if (m.topK.some((t) => t.id === m.shown)) r.hits++;
  }
  invalidate('retrieval');
}

/** The last image onsets: what was shown (when the stream says) and the top candidates, hits marked. */
function drawRetrieval() {
  $('retrieval-panel').hidden = false;
  const r = model.retrieval;
  $('retrieval-hits').textContent = r.scored ? `shown image in the top ${nx.lastRetrieval.topK.length}: ${r.hits} of ${r.scored}` : '';
  const list = $('retrievals');
  list.textContent = '';
  for (const m of r.recent) {
    const li = el('li');
    li.append(el('span', 'muted', `${m.timestamp.toFixed(1)} s`), el('span', '', m.shown ?? '?'));
    const cands = el('span');
    cands.textContent = m.topK.map((t) => `${t.id === m.shown ? '★ ' : ''}${t.label ?? t.id} ${t.score.toFixed(2)}`).join(' · ');
    li.append(cands);
    list.append(li);
  }
}

function onText(text) {
  const t0 = performance.now();
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return;
  }
  if (m && typeof m.type === 'string') handle(m);
  const ms = performance.now() - t0;
  const p = nx.perf;
  p.handleMsTotal += ms;
  if (ms > p.handleMsMax) p.handleMsMax = ms;
}

setInterval(() => {
  model.msgsPerSecond = model.msgsThisSecond;
  model.msgsThisSecond = 0;
  invalidate('stats');
}, 1000);

// ---------------------------------------------------------------------------------------------
// Connection (reconnects with backoff) and controls

let ws = null;
let retryMs = 500;

function socketUrl() {
  const token = params.get('token');
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

function send(message) {
  if (simulate !== null) return handleSimulatedControl(message);
  if (!ws || ws.readyState !== WebSocket.OPEN) return showError('not connected');
  ws.send(JSON.stringify({ v: 2, ...message }));
}

function connect() {
  const socket = new WebSocket(socketUrl());
  ws = socket;
  socket.onopen = () => {
    retryMs = 500;
    nx.connected = true;
    socket.send(JSON.stringify({ v: 2, type: 'subscribe', topics: ['signal'] }));
    invalidate('header');
  };
  socket.onmessage = (ev) => onText(ev.data);
  socket.onclose = () => {
    if (ws !== socket) return;
    nx.connected = false;
    nx.state = 'disconnected';
    invalidate('header');
    setTimeout(connect, retryMs);
    retryMs = Math.min(5000, retryMs * 2);
  };
  socket.onerror = () => {}; // onclose follows and reconnects
}

$('btn-calibrate').addEventListener('click', () => send({ type: 'calibration', action: 'start' }));
$('btn-stop-calibration').addEventListener('click', () => send({ type: 'calibration', action: 'stop' }));
$('btn-pause').addEventListener('click', () => send({ type: nx.state === 'paused' ? 'resume' : 'pause' }));

// the signal chart reaches down to the band panel: refit when the right column changes height
if (typeof ResizeObserver === 'function') new ResizeObserver(() => invalidate('fit')).observe(document.querySelector('.col-right'));

let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  setTimeout(() => {
    resizeQueued = false;
    invalidate('resize');
  }, 100);
});

// Frame monitor (perf mode): counts animation frames and the ones missed (gaps of two or more).
if (perfOn) {
  let last = 0;
  const tick = (t) => {
    const p = nx.perf;
    if (last) {
      const gap = t - last;
      p.frames++;
      if (gap > 1.5 * (1000 / 60)) p.dropped += Math.max(1, Math.round(gap / (1000 / 60)) - 1);
    }
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// ---------------------------------------------------------------------------------------------
// Simulation: generated messages at a chosen channel count and rate, through the same code.

function handleSimulatedControl(message) {
  if (message.type === 'calibration') nx.state = message.action === 'start' ? 'calibrating' : 'running';
  else if (message.type === 'pause') nx.state = 'paused';
  else if (message.type === 'resume') nx.state = 'running';
  invalidate('header');
}

function startSimulation(spec) {
  const [chs, rate] = spec.split('x').map(Number);
  const channels = Array.from({ length: chs || 64 }, (_, i) => `E${i + 1}`);
  const sampleRate = rate || 1000;
  const decimate = Math.max(1, Number(params.get('decimate') ?? 1));
  const shownRate = sampleRate / decimate;
  const classes = ['left', 'right'];
  const emit = (m) => onText(JSON.stringify({ v: 2, ...m }));
  nx.connected = true;
  emit({ type: 'hello', protocol: 2, server: 'simulation', pipeline: { kind: 'simulated', name: 'simulation' }, stream: { name: `simulated ${channels.length} ch`, type: 'EEG', sampleRate, channels }, state: 'running', classes, topics: [], subscribed: [] });
  let t = 0;
  let seq = 0;
  const frameSeconds = 0.1;
  const per = Math.round(frameSeconds * shownRate);
  setInterval(() => {
    const data = channels.map((_, c) => {
      const row = new Array(per);
      for (let s = 0; s < per; s++) {
        const tt = t + s / shownRate;
        row[s] = c === 3 ? 0 : c === 7 ? 2000 * Math.sin(2 * Math.PI * 0.5 * tt) : (10 + (c % 5)) * Math.sin(2 * Math.PI * (8 + (c % 7)) * tt + c) + 5 * (Math.random() - 0.5) * (c === 11 ? 40 : 1);
      }
      return row;
    });
    const flags = channels.map((_, c) => (c === 3 ? 'flat' : c === 7 ? 'railed' : c === 11 ? 'noisy' : 'ok'));
    emit({ type: 'signal', t0: t, rate: shownRate, channels, data, flags });
    t += per / shownRate;
  }, frameSeconds * 1000);
  setInterval(() => {
    const p = 0.5 + 0.45 * Math.sin(t / 3);
    const fired = seq % 12 === 11;
    const label = p > 0.5 ? 'left' : 'right';
    emit({ type: 'decision', seq, label, probabilities: { left: p, right: 1 - p }, smoothed: { left: p, right: 1 - p }, timestamp: t, latencyMs: 1 + Math.random(), state: fired ? 'fired' : 'dwelling', candidate: label, ...(fired ? { command: label } : {}) });
    if (fired) emit({ type: 'command', command: label, label, seq, timestamp: t });
    if (seq % 32 === 0) emit({ type: 'cue', label: seq % 64 ? 'right' : 'left', marker: 'x', timestamp: t });
    seq++;
  }, 250);
  setInterval(() => {
    const freqs = Array.from({ length: Math.floor(shownRate / 2) + 1 }, (_, i) => i);
    const power = freqs.map((f) => 20 - 10 * Math.log10(1 + f) + 8 * Math.exp(-((f - 10) ** 2) / 4) + Math.random());
    const bandEdges = { delta: [1, 4], theta: [4, 8], alpha: [8, 13], beta: [13, 30], gamma: [30, 45] };
    const bands = Object.fromEntries(Object.keys(bandEdges).map((b, i) => [b, channels.map((_, c) => 10 - i * 3 + 4 * Math.sin(c / 5) + Math.random())]));
    emit({ type: 'spectrum', timestamp: t, freqs, power, bands, bandEdges });
  }, 500);
  setInterval(() => emit({ type: 'stats', decisionsPerSecond: 4, latencyMs: { p50: 1.2, p99: 2.5 }, samplesDropped: 0, messagesDropped: 0, clients: 1 }), 1000);
}

// ---------------------------------------------------------------------------------------------

if (!hasUPlot) showError('uPlot did not load (/vendor/uplot.js): charts are off');
invalidate('header');
if (simulate !== null) startSimulation(simulate);
else connect();
