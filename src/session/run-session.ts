import { share, tap, type Observable, type Subscription } from 'rxjs';
import { lslConfigFromEnv } from '../../devices/lsl/lsl-config.js';
import { DecisionOutlet } from '../../devices/lsl/lsl-sink.js';
import { openSource, type Source } from '../../devices/open-source.js';
import type { PipelineSettings } from '../../pipelines/pipeline-plugin.js';
import { pipelineRegistry } from '../../pipelines/registry.js';
import type { Config } from '../config/config-schema.js';
import type { ClientMessage, HelloInfo, ServerMessage } from '../server/messages.js';
import { offeredTopics, PROTOCOL_VERSION } from '../server/messages.js';
import { BciServer } from '../server/ws-server.js';
import { describeLoss, gapOf, reportLosses } from '../stream/losses.js';
import { MarkerInjector } from '../stream/marker-injector.js';
import { VERSION } from '../version.js';
import { messageOf, type SessionEvent } from './event-messages.js';
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

export interface SessionHooks<E = SessionEvent> {
  /** Called for every pipeline event, after it is broadcast (typed for the built-in pipelines; a plug-in's own events otherwise). */
  onEvent?: (event: E) => void;
  log?: (line: string) => void;
  /** An already opened source to run on instead of `config.source.uri` (an embedding application's own device). */
  source?: Source;
}

/** Loss reports a client that connects later is still sent (the first ones: they explain the rest). */
const LOSSES_FOR_LATE_CLIENTS = 50;

/**
 * Opens the source, starts the server, and runs the pipeline, broadcasting what it produces.
 * Clients steer the session: markers and cues into the stream, calibration started anew from the
 * live stream (and stopped: back to the configured decoder), pause and resume of decisions. The
 * source is shared, so restarting the pipeline never restarts the signal.
 */
export async function startSession<E = SessionEvent>(config: Config, hooks: SessionHooks<E> = {}): Promise<Session> {
  const log = hooks.log ?? (() => {});
  const plugin = pipelineRegistry.get(config.pipeline.kind);
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
  // One instance for the session: it keeps its model across restarts.
  const pipeline = plugin.open(config.pipeline, { log, stream: { channels: source.info.channels.length, sampleRate: source.info.sampleRate } });
  const pipelineHooks = recorder
    ? {
        onStart: (stage: 'input' | 'decode', firstSample: number) => recorder.entry({ kind: 'start', stage, firstSample }),
        onModel: (model: () => unknown) => recorder.model(model),
      }
    : {};
  const run = (settings: PipelineSettings, reason = 'start'): void => {
    if (pipelineSub) {
      anchor ??= live$.subscribe({ error: () => {} });
      pipelineSub.unsubscribe();
      recorder?.entry({ kind: 'restart', reason });
    }
    const events$ = pipeline.run(liveSource, settings, pipelineHooks) as Observable<E>;
    pipelineSub = events$.subscribe({
      next: (event) => {
        // A plug-in's describe (or a hook) that throws loses that event, not the session.
        try {
          onEvent(event);
        } catch (e) {
          log(`pipeline ${plugin.kind}: an event could not be handled: ${(e as Error).message}`);
          server?.broadcast({ type: 'error', message: `pipeline ${plugin.kind}: an event could not be handled: ${(e as Error).message}` });
        }
      },
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

  const onEvent = (event: E): void => {
    const output = plugin.describe(event);
    if (output?.kind === 'status') {
      state = output.state;
      lastDetail = output.detail;
      lastTrials = output.trials ?? (output.state === 'calibrating' ? lastTrials : undefined);
      if (output.classes) classes = [...output.classes];
      const message: ServerMessage = {
        type: 'status',
        state: paused ? 'paused' : output.state,
        detail: output.detail,
        ...(output.trials ? { trials: output.trials } : {}),
        ...(output.calibrationAccuracy !== undefined ? { calibrationAccuracy: output.calibrationAccuracy } : {}),
        ...(classes ? { classes } : {}),
      };
      recorder?.message(message);
      log(`[${output.state}] ${output.detail}${output.calibrationAccuracy != null ? ` (calibration accuracy ${output.calibrationAccuracy.toFixed(3)})` : ''}`);
      server?.broadcast(message);
      if (output.classes && plugin.outputs.includes('decision') && config.lsl?.decisions && !opening) openDecisionOutlet(output.classes, config.lsl.decisions);
    } else if (output) {
      const message = messageOf(output);
      // The recording keeps every decision, paused or not: pausing only stops their delivery.
      if (recorder) recorder.message(message, 'timestamp' in message ? (message.timestamp as number) : undefined);
      const decoded = output.kind === 'decision' ? output.decision.latencyMs : output.latencyMs;
      if (decoded !== undefined) stats.decision(decoded);
      if (decoded === undefined || !paused) server?.broadcast(message);
      if (output.kind === 'decision' && !paused) {
        const d = output.decision;
        decisionOutlet?.push(d);
        if (d.command !== undefined) {
          server?.broadcast({ type: 'command', command: d.command, label: d.candidate ?? d.label, seq: d.seq, timestamp: d.timestamp });
          log(`command ${d.command} (${d.candidate ?? d.label}) at ${d.timestamp.toFixed(2)} s`);
        }
      }
    }
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
        const answer = plugin.calibrate?.(config.pipeline, { action: m.action, ...(m.trialsPerClass !== undefined ? { trialsPerClass: m.trialsPerClass } : {}) }) ?? {
          detail: `a ${plugin.kind} session has no calibration to ${m.action}`,
        };
        if (answer.detail) status(answer.detail);
        if (answer.restart) {
          if (m.action === 'start') state = 'calibrating';
          run(answer.restart.settings, answer.restart.reason);
        }
        return;
      }
      default:
        throw new Error(`"${m.type}" is not a session control message`);
    }
  };

  try {
    server = await BciServer.start(
      {
        ...config.server,
        topics: offeredTopics(pipelineRegistry),
        token: config.server.token ?? process.env.NEURORX_TOKEN,
        onClientMessage: control,
        catchUp: () => lossMessages.map((m) => ({ ...m, state: paused ? 'paused' : state })),
      },
      hello,
    );
  } catch (e) {
    // No session after all: an empty recording would only block the next attempt at its path.
    if (recorder) discardRecording(recorder);
    throw e;
  }
  log(
    `neurorx ${VERSION}: ${source.info.name} (${source.info.channels.length} ch @ ${source.info.sampleRate} Hz) -> ${server.address.url}/ (dashboard http://${server.address.host}:${server.address.port}/)`,
  );
  const statsTimer = setInterval(() => {
    const s = stats.takeSecond();
    server?.broadcastEach('status', (messagesDropped) => ({ type: 'stats', ...s, messagesDropped, clients: server?.clientCount ?? 0 }));
  }, 1000);
  statsTimer.unref();
  const lossSub = reportLosses(source.losses, (loss) => {
    recorder?.entry({ kind: 'loss', loss });
    const detail = `source: ${describeLoss(loss)}`;
    lastDetail = detail;
    const message: Extract<ServerMessage, { type: 'status' }> = {
      type: 'status',
      state: paused ? 'paused' : state,
      detail,
      ...(loss.kind === 'gap' ? { gap: gapOf(loss) } : { warning: loss.message }),
    };
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
      pipeline.dispose?.();
      await (await opening)?.close();
      await theServer.close();
    }
  }
}
