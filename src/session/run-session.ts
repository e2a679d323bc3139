import { share, tap, type Observable, type Subscription } from 'rxjs';
import { lslConfigFromEnv } from '../../devices/lsl/lsl-config.js';
import { DecisionOutlet } from '../../devices/lsl/lsl-sink.js';
import { openSource, type Source } from '../../devices/open-source.js';
import type { PipelineSettings } from '../../pipelines/pipeline-plugin.js';
import { pipelineRegistry } from '../../pipelines/registry.js';
import type { Config } from '../config/config-schema.js';
import type { ClientMessage, HelloInfo, OutboundMessage, ServerMessage, Topic } from '../server/messages.js';
import { offeredTopics, PROTOCOL_VERSION } from '../server/messages.js';
import { BciServer } from '../server/ws-server.js';
import { describeLoss, gapOf, reportLosses } from '../stream/losses.js';
import { MarkerInjector } from '../stream/marker-injector.js';
import { lastSampleTime } from '../stream/types.js';
import { VERSION } from '../version.js';
import { messageOf, type SessionEvent } from './event-messages.js';
import { closeRecording, discardRecording, openSessionRecorder } from './record-session.js';
import type { SessionRecorder } from './session-recorder.js';
import { SessionStats } from './session-stats.js';
import { SignalMonitor } from './signal-monitor.js';

export type SessionState = HelloInfo['state'];

/**
 * Where a session's messages go: its WebSocket clients (a ClientHub), a message bus, a thread
 * boundary. Every message the session sends reaches every attached sink.
 */
export interface MessageSink {
  broadcast(message: OutboundMessage): void;
  /** A message built per client (stats with that client's drop count); default: broadcast with 0 dropped. */
  broadcastEach?(topic: Topic, build: (dropped: number) => ServerMessage): void;
  /** Whether the sink wants a costly topic (the raw signal); default: no. */
  wants?(topic: Topic): boolean;
  /** Clients behind the sink (reported in stats). */
  readonly clientCount?: number;
}

/** A running session without a transport of its own: attach sinks, steer it with `control`. */
export interface SessionCore {
  readonly config: Config;
  readonly source: Source;
  /** Resolves when the pipeline ends (finite source) or fails; never rejects. */
  readonly done: Promise<{ error?: Error }>;
  readonly state: SessionState;
  /** The recording, when the config asks for one. */
  readonly recorder?: SessionRecorder;
  /** Every topic the session offers (the core ones and every registered pipeline's messages). */
  readonly topics: readonly string[];
  /** What a client that connects now is told first. */
  hello(): HelloInfo;
  /** What a client that connects now must also know (the source's losses so far). */
  catchUp(): readonly ServerMessage[];
  /** A client's control message (marker, pause, resume, calibration); throws when it cannot be done. */
  control(message: ClientMessage): void;
  /**
   * The stream clock now (s): the last sample's time plus the wall time since its chunk arrived
   * (undefined before the first chunk). Pongs carry it, so that a page can put its frame times on
   * the stream clock (marker times).
   */
  streamTime(): number | undefined;
  /** Sends the session's messages to `sink` too, until the returned function is called. */
  attach(sink: MessageSink): () => void;
  /** Runs the pipeline (once; the sinks attached before it see everything). */
  start(): void;
  /** Stops the pipeline and closes the recording (`discardRecording`: deletes it instead). */
  stop(options?: { discardRecording?: boolean }): Promise<void>;
}

/** A session with its own HTTP + WebSocket server (`neurorx run`). */
export interface Session extends SessionCore {
  readonly server: BciServer;
}

export interface SessionHooks<E = SessionEvent> {
  /** Called for every pipeline event, after it is broadcast (typed for the built-in pipelines; a plug-in's own events otherwise). */
  onEvent?: (event: E) => void;
  log?: (line: string) => void;
  /** An already opened source to run on instead of `config.source.uri` (an embedding application's own device). */
  source?: Source;
  /** Called when a model starts decoding, with a function giving its JSON form (a host saves it to restart from). */
  onModel?: (model: () => unknown) => void;
}

/** Loss reports a client that connects later is still sent (the first ones: they explain the rest). */
const LOSSES_FOR_LATE_CLIENTS = 50;

/**
 * Opens the source, starts the server, and runs the pipeline, broadcasting what it produces
 * (openSession with a BciServer attached).
 */
export async function startSession<E = SessionEvent>(config: Config, hooks: SessionHooks<E> = {}): Promise<Session> {
  const log = hooks.log ?? (() => {});
  const core = await openSession(config, hooks);
  let server: BciServer;
  try {
    server = await BciServer.start(
      {
        ...config.server,
        topics: core.topics,
        token: config.server.token ?? process.env.NEURORX_TOKEN,
        onClientMessage: (m) => core.control(m),
        catchUp: () => core.catchUp(),
        streamTime: () => core.streamTime(),
      },
      () => core.hello(),
    );
  } catch (e) {
    // No session after all: an empty recording would only block the next attempt at its path.
    await core.stop({ discardRecording: true });
    throw e;
  }
  core.attach(server.hub);
  const { info } = core.source;
  log(`neurorx ${VERSION}: ${info.name} (${info.channels.length} ch @ ${info.sampleRate} Hz) -> ${server.address.url}/ (dashboard http://${server.address.host}:${server.address.port}/)`);
  core.start();
  let stopping: Promise<void> | undefined;
  const theServer = server;
  return {
    server: theServer,
    config: core.config,
    source: core.source,
    done: core.done,
    ...(core.recorder ? { recorder: core.recorder } : {}),
    topics: core.topics,
    get state() {
      return core.state;
    },
    hello: () => core.hello(),
    catchUp: () => core.catchUp(),
    control: (m: ClientMessage) => core.control(m),
    streamTime: () => core.streamTime(),
    attach: (sink: MessageSink) => core.attach(sink),
    start: () => core.start(),
    stop: () => (stopping ??= core.stop().finally(() => theServer.close())),
  };
}

/**
 * Opens the source and readies the pipeline; `start()` runs it, broadcasting what it produces to
 * the attached sinks.
 * Clients steer the session: markers and cues into the stream, calibration started anew from the
 * live stream (and stopped: back to the configured decoder), pause and resume of decisions. The
 * source is shared, so restarting the pipeline never restarts the signal.
 */
export async function openSession<E = SessionEvent>(config: Config, hooks: SessionHooks<E> = {}): Promise<SessionCore> {
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
  const sinks = new Set<MessageSink>();
  // Every attached sink, as one.
  // A sink that throws (a bus client in a bad state) loses that message for itself, not the session.
  const each = (what: (sink: MessageSink) => void): void => {
    for (const sink of sinks) {
      try {
        what(sink);
      } catch (e) {
        log(`a message could not be sent: ${(e as Error).message}`);
      }
    }
  };
  const server = {
    broadcast(message: OutboundMessage): void {
      each((sink) => sink.broadcast(message));
    },
    broadcastEach(topic: Topic, build: (dropped: number) => ServerMessage): void {
      each((sink) => (sink.broadcastEach ? sink.broadcastEach(topic, build) : sink.broadcast(build(0))));
    },
    wants(topic: Topic): boolean {
      for (const sink of sinks) if (sink.wants?.(topic)) return true;
      return false;
    },
    get clientCount(): number {
      let n = 0;
      for (const sink of sinks) n += sink.clientCount ?? 0;
      return n;
    },
  };
  const status = (detail: string): void => {
    lastDetail = detail;
    server.broadcast({ type: 'status', state: paused ? 'paused' : state, detail, ...(classes ? { classes } : {}) });
    log(`[${paused ? 'paused' : state}] ${detail}`);
  };

  // The source is shared: pipelines come and go on top of it (see `anchor` below). Markers from
  // clients join it first, so that the recording holds them with the signal.
  // Where the stream clock stood at the last chunk: its last sample and when it arrived (ms, performance.now()).
  let clockSample: number | undefined;
  let clockArrival = 0;
  const live$ = source.chunks$.pipe(
    markers.operator(),
    tap((chunk) => {
      if (chunk.samples > 0) {
        clockSample = lastSampleTime(chunk);
        clockArrival = chunk.receivedAt;
      }
      recorder?.signal(chunk);
      stats.chunk(chunk);
      if (!server.wants('signal')) monitor = undefined;
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
  const onModel =
    recorder || hooks.onModel
      ? (model: () => unknown): void => {
          recorder?.model(model);
          hooks.onModel?.(model);
        }
      : undefined;
  const pipelineHooks = {
    ...(recorder ? { onStart: (stage: 'input' | 'decode', firstSample: number) => recorder.entry({ kind: 'start', stage, firstSample }) } : {}),
    ...(onModel ? { onModel } : {}),
  };
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
          server.broadcast({ type: 'error', message: `pipeline ${plugin.kind}: an event could not be handled: ${(e as Error).message}` });
        }
      },
      error(e: Error) {
        state = 'stopped';
        log(`pipeline error: ${e.message}`);
        server.broadcast({ type: 'error', message: e.message });
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
      server.broadcast(message);
      if (output.classes && plugin.outputs.includes('decision') && config.lsl?.decisions && !opening) openDecisionOutlet(output.classes, config.lsl.decisions);
    } else if (output) {
      const message = messageOf(output);
      // The recording keeps every decision, paused or not: pausing only stops their delivery.
      if (recorder) recorder.message(message, 'timestamp' in message ? (message.timestamp as number) : undefined);
      const decoded = output.kind === 'decision' ? output.decision.latencyMs : output.latencyMs;
      if (decoded !== undefined) stats.decision(decoded);
      if (decoded === undefined || !paused) server.broadcast(message);
      if (output.kind === 'decision' && !paused) {
        const d = output.decision;
        decisionOutlet?.push(d);
        if (d.command !== undefined) {
          server.broadcast({ type: 'command', command: d.command, label: d.candidate ?? d.label, seq: d.seq, timestamp: d.timestamp });
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

  const statsTimer = setInterval(() => {
    const s = stats.takeSecond();
    server.broadcastEach('status', (messagesDropped) => ({ type: 'stats', ...s, messagesDropped, clients: server.clientCount }));
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
    server.broadcast(message);
    log(`[${paused ? 'paused' : state}] ${detail}`);
  });
  let started = false;
  let stopping: Promise<void> | undefined;
  return {
    config,
    source,
    done,
    ...(recorder ? { recorder } : {}),
    topics: offeredTopics(pipelineRegistry),
    get state() {
      return paused ? 'paused' : state;
    },
    hello,
    catchUp: () => lossMessages.map((m) => ({ ...m, state: paused ? 'paused' : state })),
    control,
    streamTime: () => (clockSample === undefined ? undefined : clockSample + (performance.now() - clockArrival) / 1000),
    attach(sink: MessageSink) {
      sinks.add(sink);
      return () => void sinks.delete(sink);
    },
    start() {
      if (started) return;
      started = true;
      run(config.pipeline);
    },
    stop(options: { discardRecording?: boolean } = {}) {
      return (stopping ??= stopAll(options.discardRecording === true));
    },
  };
  async function stopAll(discard: boolean): Promise<void> {
    clearInterval(statsTimer);
    lossSub.unsubscribe();
    pipelineSub?.unsubscribe();
    anchor?.unsubscribe();
    // The recording is complete now: closed first, whatever happens to the outlets and the server.
    try {
      if (recorder && discard) discardRecording(recorder);
      else if (recorder && config.record) await closeRecording(recorder, config.record, log);
    } finally {
      // Freed when ready (a model still training is not waited for: tfjs cannot stop mid-epoch).
      pipeline.dispose?.();
      sinks.clear();
      await (await opening)?.close();
    }
  }
}
