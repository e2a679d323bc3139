import { share, tap, type Observable, type Subscription } from 'rxjs';
import { lslConfigFromEnv } from '../../devices/lsl/lsl-config.js';
import { DecisionOutlet } from '../../devices/lsl/lsl-sink.js';
import { openSource, type Source } from '../../devices/open-source.js';
import { emotionModelFor, emotionPipeline, type EmotionEvent } from '../../pipelines/emotion/pipeline.js';
import type { EmotionModel } from '../../pipelines/emotion/model.js';
import type { MegImageModel } from '../../pipelines/meg/model.js';
import { megImagePipeline, megModelFor, type MegEvent } from '../../pipelines/meg/pipeline.js';
import { motorImageryPipeline, type PipelineEvent } from '../../pipelines/motor-imagery/pipeline.js';
import { calibrationSchema } from '../../pipelines/motor-imagery/settings.js';
import type { Config } from '../config/config-schema.js';
import type { ClientMessage, HelloInfo, ServerMessage } from '../server/messages.js';
import { PROTOCOL_VERSION } from '../server/messages.js';
import { BciServer } from '../server/ws-server.js';
import { describeLoss, gapOf, reportLosses } from '../stream/losses.js';
import { MarkerInjector } from '../stream/marker-injector.js';
import { VERSION } from '../version.js';
import { decodingMessage, type SessionEvent } from './event-messages.js';
import { closeRecording, discardRecording, openSessionRecorder } from './record-session.js';
import type { SessionRecorder } from './session-recorder.js';
import { SessionStats } from './session-stats.js';
import { SignalMonitor } from './signal-monitor.js';

export type SessionState = HelloInfo['state'];

export interface Session {
  readonly server: BciServer;
  readonly source: Source;
  /** Resolves when the pipeline ends (finite source) or fails; never rejects. */
  readonly done: Promise<{ error?: Error }>;
  readonly state: SessionState;
  /** The recording, when the config asks for one. */
  readonly recorder?: SessionRecorder;
  stop(): Promise<void>;
}

export interface SessionHooks {
  /** Called for every pipeline event, after it is broadcast. */
  onEvent?: (event: PipelineEvent | EmotionEvent | MegEvent) => void;
  log?: (line: string) => void;
  /** An already opened source to run on instead of `config.source.uri` (an embedding application's own device). */
  source?: Source;
}

/** Loss reports a client that connects later is still sent (the first ones: they explain the rest). */
const LOSSES_FOR_LATE_CLIENTS = 50;

/** Trials per class when a client starts calibration without saying, and the config has no number. */
const DEFAULT_TRIALS_PER_CLASS = 10;

/**
 * Opens the source, starts the server, and runs the pipeline, broadcasting what it produces.
 * Clients steer the session: markers and cues into the stream, calibration started anew from the
 * live stream (and stopped: back to the configured decoder), pause and resume of decisions. The
 * source is shared, so restarting the pipeline never restarts the signal.
 */
export async function startSession(config: Config, hooks: SessionHooks = {}): Promise<Session> {
  const log = hooks.log ?? (() => {});
  const source = hooks.source ?? (await openSource(config.source.uri, config.source.replay));
  const recorder = config.record ? openSessionRecorder(config.record, source.info, config) : undefined;
  if (recorder) log(`recording to ${recorder.path}`);
  let state: SessionState = 'calibrating';
  let paused = false;
  let classes: string[] | undefined;
  let lastDetail: string | undefined;
  let lastTrials: Readonly<Record<string, number>> | undefined;
  const hello = (): HelloInfo => ({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    server: `neurorx ${VERSION}`,
    pipeline: { kind: config.pipeline.kind, name: config.name },
    stream: {
      name: source.info.name,
      type: source.info.type,
      sampleRate: source.info.sampleRate,
      channels: source.info.channels.map((c) => c.label),
    },
    state: paused ? 'paused' : state,
    ...(classes ? { classes } : {}),
    ...(lastDetail ? { detail: lastDetail } : {}),
    ...(lastTrials && state === 'calibrating' ? { trials: { ...lastTrials } } : {}),
  });
  // Cue markers from clients (a game running the calibration) join the signal stream.
  // What the source lost so far, for clients that connect later.
  const lossMessages: Extract<ServerMessage, { type: 'status' }>[] = [];
  const markers = new MarkerInjector(undefined, undefined, (why) => status(why));
  const stats = new SessionStats();
  // Exists while someone views the signal; a new viewer starts from a fresh frame, not a stale one.
  let monitor: SignalMonitor | undefined;
  let server: BciServer | undefined;
  const status = (detail: string): void => {
    lastDetail = detail;
    server?.broadcast({ type: 'status', state: paused ? 'paused' : state, detail, ...(classes ? { classes } : {}) });
    log(`[${paused ? 'paused' : state}] ${detail}`);
  };

  // The source is shared: pipelines come and go on top of it (see `anchor` below). Markers from
  // clients join it first, so that the recording holds them with the signal.
  const live$ = source.chunks$.pipe(
    markers.operator(),
    tap((chunk) => {
      recorder?.signal(chunk);
      stats.chunk(chunk);
      if (!server?.wants('signal')) monitor = undefined;
      else for (const m of (monitor ??= new SignalMonitor(source.info)).push(chunk)) server.broadcast(m);
    }),
    share(),
  );
  const liveSource: Source = { ...source, chunks$: live$ };

  let pipelineSub: Subscription | undefined;
  let resolveDone: (r: { error?: Error }) => void = () => {};
  const done = new Promise<{ error?: Error }>((resolve) => (resolveDone = resolve));
  let opening: Promise<DecisionOutlet | undefined> | undefined;
  let decisionOutlet: DecisionOutlet | undefined;

  // Taken at the first pipeline restart: keeps the shared source running while the old pipeline
  // unsubscribes and the new one subscribes (a cold source would otherwise start over).
  let anchor: Subscription | undefined;
  // An emotion session trains (or loads) its model once; a restart only records a new baseline.
  let emotionModel: Promise<EmotionModel> | undefined;
  let megModel: Promise<MegImageModel> | undefined;
  const pipelineHooks = recorder
    ? {
        onStart: (stage: 'input' | 'decode', firstSample: number) => recorder.entry({ kind: 'start', stage, firstSample }),
        onModel: (model: () => unknown) => recorder.model(model),
      }
    : {};
  const run = (settings: Config['pipeline'], reason = 'start'): void => {
    if (pipelineSub) {
      anchor ??= live$.subscribe({ error: () => {} });
      pipelineSub.unsubscribe();
      recorder?.entry({ kind: 'restart', reason });
    }
    let events$: Observable<PipelineEvent | EmotionEvent | MegEvent>;
    if (settings.kind === 'emotion') {
      const reused = emotionModel !== undefined;
      emotionModel ??= emotionModelFor(settings, log);
      events$ = emotionPipeline(liveSource, settings, { log, model: emotionModel, reused, ...pipelineHooks });
    } else if (settings.kind === 'meg-image') {
      megModel ??= megModelFor(settings, source.info.channels.length, source.info.sampleRate, log);
      events$ = megImagePipeline(liveSource, settings, { log, model: megModel, ...pipelineHooks });
    } else {
      events$ = motorImageryPipeline(liveSource, settings, pipelineHooks);
    }
    pipelineSub = events$.subscribe({
      next: (event) => onEvent(event),
      error(e: Error) {
        state = 'stopped';
        log(`pipeline error: ${e.message}`);
        server?.broadcast({ type: 'error', message: e.message });
        status(`pipeline error: ${e.message}`);
        resolveDone({ error: e });
      },
      complete: () => resolveDone({}),
    });
  };

  const onEvent = (event: SessionEvent): void => {
    let message: ServerMessage | undefined;
    const decoded = decodingMessage(event);
    // The recording keeps every decision, paused or not: pausing only stops their delivery.
    if (decoded && recorder) recorder.message(decoded, 'timestamp' in decoded ? decoded.timestamp : undefined);
    if (event.kind === 'retrieval') {
      stats.decision(event.retrieval.latencyMs);
      if (!paused) message = decoded;
    } else if (event.kind === 'emotion') {
      stats.decision(event.emotion.latencyMs);
      if (!paused) message = decoded;
    } else if (event.kind === 'decision') {
      const d = event.decision;
      stats.decision(d.latencyMs);
      if (!paused) {
        server?.broadcast(decoded!);
        decisionOutlet?.push(d);
        if ('command' in d && d.command !== undefined) {
          message = { type: 'command', command: d.command, label: d.candidate ?? d.label, seq: d.seq, timestamp: d.timestamp };
          log(`command ${d.command} (${d.candidate ?? d.label}) at ${d.timestamp.toFixed(2)} s`);
        }
      }
    } else if (event.kind === 'cue') {
      message = decoded;
    } else {
      // Emotion status events carry a subset of the motor-imagery ones' fields.
      const st: Extract<PipelineEvent, { kind: 'status' }> = event;
      state = st.state;
      lastDetail = st.detail;
      lastTrials = st.trials ?? (st.state === 'calibrating' ? lastTrials : undefined);
      if (st.classes) classes = [...st.classes];
      message = {
        type: 'status',
        state: paused ? 'paused' : st.state,
        detail: st.detail,
        ...(st.trials ? { trials: st.trials } : {}),
        ...(st.calibrationAccuracy !== undefined ? { calibrationAccuracy: st.calibrationAccuracy } : {}),
        ...(classes ? { classes } : {}),
      };
      recorder?.message(message);
      log(`[${st.state}] ${st.detail}${st.calibrationAccuracy != null ? ` (calibration accuracy ${st.calibrationAccuracy.toFixed(3)})` : ''}`);
      if (st.classes && config.pipeline.kind === 'motor-imagery' && config.lsl?.decisions && !opening) openDecisionOutlet(st.classes, config.lsl.decisions);
    }
    if (message) server?.broadcast(message);
    hooks.onEvent?.(event);
  };

  const openDecisionOutlet = (eventClasses: readonly string[], name: string): void => {
    opening = DecisionOutlet.open(eventClasses, name, { config: { ...lslConfigFromEnv(), ...(config.lsl?.bind ? { bind: config.lsl.bind } : {}) }, log }).then(
      (o) => {
        decisionOutlet = o;
        log(`decisions published over LSL as "${name}" and "${name}-probabilities"`);
        return o;
      },
      (e: Error) => {
        log(`LSL decision outlet: ${e.message}`);
        return undefined;
      },
    );
  };

  const control = (m: ClientMessage): void => {
    recorder?.entry({ kind: 'control', message: m });
    switch (m.type) {
      case 'marker':
        markers.push(m.value, m.time);
        return;
      case 'pause':
      case 'resume':
        paused = m.type === 'pause';
        status(paused ? 'paused by a client: no decisions are sent' : 'resumed');
        return;
      case 'calibration': {
        if (config.pipeline.kind === 'meg-image') {
          status('a MEG image session is calibrated offline (calibration.from): nothing to do');
          return;
        }
        if (config.pipeline.kind === 'emotion') {
          // The emotion model is subject-independent: calibrating means a new resting baseline.
          if (m.action === 'stop') status('an emotion session calibrates only its resting baseline: nothing to stop');
          else run(config.pipeline, 'calibration start: new resting baseline');
          return;
        }
        if (m.action === 'stop') {
          status('calibration stopped: back to the configured decoder');
          run(config.pipeline, 'calibration stop');
          return;
        }
        const configured = config.pipeline.calibration;
        const trialsPerClass = m.trialsPerClass ?? (configured.from === 'stream' ? configured.trialsPerClass : DEFAULT_TRIALS_PER_CLASS);
        const calibration = calibrationSchema.parse(configured.from === 'stream' ? { ...configured, trialsPerClass } : { from: 'stream', trialsPerClass });
        state = 'calibrating';
        run({ ...config.pipeline, calibration, saveModel: undefined }, 'calibration start');
        return;
      }
      default:
        throw new Error(`"${m.type}" is not a session control message`);
    }
  };

  try {
    server = await BciServer.start({ ...config.server, token: config.server.token ?? process.env.NEURORX_TOKEN, onClientMessage: control, catchUp: () => lossMessages.map((m) => ({ ...m, state: paused ? 'paused' : state })) }, hello);
  } catch (e) {
    // No session after all: an empty recording would only block the next attempt at its path.
    if (recorder) discardRecording(recorder);
    throw e;
  }
  log(`neurorx ${VERSION}: ${source.info.name} (${source.info.channels.length} ch @ ${source.info.sampleRate} Hz) -> ${server.address.url}/ (dashboard http://${server.address.host}:${server.address.port}/)`);
  const statsTimer = setInterval(() => {
    const s = stats.takeSecond();
    server?.broadcastEach('status', (messagesDropped) => ({ type: 'stats', ...s, messagesDropped, clients: server?.clientCount ?? 0 }));
  }, 1000);
  statsTimer.unref();
  const lossSub = reportLosses(source.losses, (loss) => {
    recorder?.entry({ kind: 'loss', loss });
    const detail = `source: ${describeLoss(loss)}`;
    lastDetail = detail;
    const message: Extract<ServerMessage, { type: 'status' }> = { type: 'status', state: paused ? 'paused' : state, detail, ...(loss.kind === 'gap' ? { gap: gapOf(loss) } : { warning: loss.message }) };
    if (lossMessages.length < LOSSES_FOR_LATE_CLIENTS) lossMessages.push(message);
    server?.broadcast(message);
    log(`[${paused ? 'paused' : state}] ${detail}`);
  });
  run(config.pipeline);
  const theServer = server;
  let stopping: Promise<void> | undefined;
  return {
    server: theServer,
    source,
    done,
    ...(recorder ? { recorder } : {}),
    get state() {
      return paused ? 'paused' : state;
    },
    stop() {
      return (stopping ??= stopAll());
    },
  };
  async function stopAll(): Promise<void> {
    clearInterval(statsTimer);
    lossSub.unsubscribe();
    pipelineSub?.unsubscribe();
    anchor?.unsubscribe();
    // The recording is complete now: closed first, whatever happens to the outlets and the server.
    try {
      if (recorder && config.record) await closeRecording(recorder, config.record, log);
    } finally {
      // Freed when ready (a model still training is not waited for: tfjs cannot stop mid-epoch).
      void emotionModel?.then((m) => m.dispose(), () => {});
      void megModel?.then((m) => m.dispose(), () => {});
      await (await opening)?.close();
      await theServer.close();
    }
  }
}
