// Server messages into the model: each updates what it carries and marks the parts to redraw.
import type { DecisionMessage, EmotionMessage, Probabilities, RetrievalMessage, ServerMessage, SignalMessage } from '../../client/protocol-types.js';
import { COMMANDS_KEPT, CUES_KEPT, EMOTION_TRAIL, HISTORY_ROWS, RETRIEVALS_SHOWN, type Model } from './model.js';
import type { Probe } from './probe.js';
import type { Part } from './redraw.js';
import { SignalRing } from './signal-ring.js';

type Invalidate = (part: Part) => void;

/** Applies one message (of any type; errors are shown elsewhere) and counts it. */
export function applyMessage(m: ServerMessage, model: Model, probe: Probe, invalidate: Invalidate): void {
  probe.messages[m.type] = (probe.messages[m.type] ?? 0) + 1;
  model.msgsThisSecond++;
  switch (m.type) {
    case 'hello':
      model.streamInfo = `${m.pipeline.name} · ${m.stream.name} · ${m.stream.channels.length} ch @ ${m.stream.sampleRate} Hz`;
      model.sampleRate = m.stream.sampleRate;
      setChannels(model, m.stream.channels, invalidate);
      setClasses(model, m.classes, invalidate);
      probe.state = m.state;
      // A page that joins mid-calibration learns the progress from the hello.
      if (m.detail) model.detail = m.detail;
      model.trials = m.state === 'calibrating' && m.trials ? m.trials : null;
      invalidate('header');
      break;
    case 'status':
      probe.state = m.state;
      // (the answer to our subscribe says only what we subscribed to: keep the session's detail)
      if (m.detail && !m.subscribed) model.detail = m.detail;
      if (m.trials) model.trials = m.trials;
      else if (m.state !== 'calibrating') model.trials = null;
      if (m.calibrationAccuracy != null) {
        model.calibrationAccuracy = m.calibrationAccuracy;
        invalidate('stats');
      }
      setClasses(model, m.classes, invalidate);
      invalidate('header');
      break;
    case 'signal':
      onSignal(model, m, invalidate);
      break;
    case 'spectrum':
      model.spectrum = m;
      invalidate('spectrum');
      invalidate('bands');
      break;
    case 'decision':
      onDecision(model, probe, m, invalidate);
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
      onEmotion(model, probe, m, invalidate);
      break;
    case 'retrieval':
      onRetrieval(model, probe, m, invalidate);
      break;
    case 'stats':
      model.stats = m;
      invalidate('stats');
      break;
    default:
      break;
  }
}

function setClasses(model: Model, classes: readonly string[] | undefined, invalidate: Invalidate): void {
  if (!classes || !classes.length || classes.join('\u0000') === model.classes.join('\u0000')) return;
  model.classes = [...classes];
  model.probs.reset(classes.length);
  invalidate('prob');
}

function setChannels(model: Model, names: readonly string[], invalidate: Invalidate): void {
  if (names.join('\u0000') === model.channels.join('\u0000')) return;
  model.channels = [...names];
  model.ring = null;
  model.flags = names.map(() => 'ok');
  invalidate('signal');
}

function onSignal(model: Model, m: SignalMessage, invalidate: Invalidate): void {
  setChannels(model, m.channels, invalidate);
  const n = m.channels.length;
  let ring = model.ring;
  // a new rate, time running backwards (a looping replay, a restarted source) or a gap of more
  // than a second (a stale frame, a long drop-out): start over rather than draw lines across it
  if (!ring || ring.n !== n || ring.rate !== m.rate || (ring.count && Math.abs(m.t0 - ring.lastTime - 1 / m.rate) > 1)) {
    ring = model.ring = new SignalRing(n, m.rate);
  }
  ring.push(m.t0, m.rate, m.data);
  if (m.flags) {
    for (let i = 0; i < n; i++) model.flags[i] = m.flags[i] ?? 'ok';
  }
  invalidate('signal');
}

function onDecision(model: Model, probe: Probe, m: DecisionMessage, invalidate: Invalidate): void {
  probe.lastDecision = m;
  if (m.smoothed && !model.hasSmoothed) {
    model.hasSmoothed = true;
    invalidate('prob');
  }
  pushProbabilities(model, m.timestamp, m.probabilities, m.smoothed, invalidate);
  model.pendingHistory.push(m);
  if (model.pendingHistory.length > HISTORY_ROWS) model.pendingHistory.shift();
  invalidate('history');
}

/** One decision's class probabilities (and smoothed ones, if any) into the probability chart's ring. */
function pushProbabilities(model: Model, t: number, probs: Probabilities, smoothed: Probabilities | undefined, invalidate: Invalidate): void {
  if (!model.classes.length) setClasses(model, Object.keys(probs), invalidate);
  model.probs.push(t, model.classes, probs, smoothed);
  model.lastProbs = smoothed ?? probs;
  invalidate('prob');
}

function onEmotion(model: Model, probe: Probe, m: EmotionMessage, invalidate: Invalidate): void {
  probe.lastEmotion = m;
  // The per-target probabilities share the probability chart, as "valence:high" and so on.
  const flat: Probabilities = {};
  for (const [target, probs] of Object.entries(m.probabilities ?? {})) for (const [c, p] of Object.entries(probs ?? {})) flat[`${target}:${c}`] = p;
  pushProbabilities(model, m.timestamp, flat, undefined, invalidate);
  model.emotionTrail.push({ v: m.valence?.score ?? 0, a: m.arousal?.score ?? 0 });
  if (model.emotionTrail.length > EMOTION_TRAIL) model.emotionTrail.shift();
  invalidate('emotion');
}

function onRetrieval(model: Model, probe: Probe, m: RetrievalMessage, invalidate: Invalidate): void {
  probe.lastRetrieval = m;
  const r = model.retrieval;
  r.recent.unshift(m);
  if (r.recent.length > RETRIEVALS_SHOWN) r.recent.pop();
  if (m.shown) {
    r.scored++;
    if (m.topK.some((t) => t.id === m.shown)) r.hits++;
  }
  invalidate('retrieval');
}
