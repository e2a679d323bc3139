import type { Subscription } from 'rxjs';
import { lslConfigFromEnv } from '../../devices/lsl/lsl-config.js';
import { DecisionOutlet } from '../../devices/lsl/lsl-sink.js';
import { openSource, type Source } from '../../devices/open-source.js';
import { motorImageryPipeline, type PipelineEvent, type SessionState } from '../../pipelines/motor-imagery/pipeline.js';
import type { Config } from '../config/config-schema.js';
import type { HelloMessage, ServerMessage } from '../server/messages.js';
import { PROTOCOL_VERSION } from '../server/messages.js';
import { BciServer } from '../server/ws-server.js';
import { MarkerInjector } from '../stream/marker-injector.js';
import { VERSION } from '../version.js';

export interface Session {
  readonly server: BciServer;
  readonly source: Source;
  /** Resolves when the pipeline ends (finite source) or fails; never rejects. */
  readonly done: Promise<{ error?: Error }>;
  stop(): Promise<void>;
}

export interface SessionHooks {
  /** Called for every pipeline event, after it is broadcast. */
  onEvent?: (event: PipelineEvent) => void;
  log?: (line: string) => void;
}

/** Opens the source, starts the server, and runs the pipeline, broadcasting what it produces. */
export async function startSession(config: Config, hooks: SessionHooks = {}): Promise<Session> {
  const log = hooks.log ?? (() => {});
  const source = await openSource(config.source.uri, config.source.replay);
  let state: SessionState = 'calibrating';
  let classes: string[] | undefined;
  const hello = (): HelloMessage => ({
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
    state,
    ...(classes ? { classes } : {}),
  });
  // Cue markers from clients (a game running the calibration) join the signal stream.
  const markers = new MarkerInjector();
  const server = await BciServer.start(
    {
      ...config.server,
      onClientMessage: (m) => {
        if (m.type === 'marker') markers.push(m.value, m.time);
      },
    },
    hello,
  );
  log(`neurorx ${VERSION}: ${source.info.name} (${source.info.channels.length} ch @ ${source.info.sampleRate} Hz) -> ${server.address.url}/ (dashboard http://${server.address.host}:${server.address.port}/)`);

  let sub: Subscription | undefined;
  // Opened once the classes are known; `decisionOutlet` is set when it is ready.
  let opening: Promise<DecisionOutlet | undefined> | undefined;
  let decisionOutlet: DecisionOutlet | undefined;
  const done = new Promise<{ error?: Error }>((resolve) => {
    sub = motorImageryPipeline(source, config.pipeline, { markers }).subscribe({
      next(event) {
        let message: ServerMessage;
        if (event.kind === 'decision') {
          message = { type: 'decision', ...event.decision };
          const d = event.decision;
          if ('command' in d && d.command !== undefined) {
            server.broadcast(message);
            message = { type: 'command', command: d.command, label: d.candidate ?? d.label, seq: d.seq, timestamp: d.timestamp };
            log(`command ${d.command} (${d.candidate ?? d.label}) at ${d.timestamp.toFixed(2)} s`);
          }
        } else if (event.kind === 'cue') {
          message = { type: 'cue', label: event.label, marker: event.marker, timestamp: event.time };
        } else {
          state = event.state;
          if (event.classes) classes = [...event.classes];
          message = {
            type: 'status',
            state: event.state,
            detail: event.detail,
            ...(event.trials ? { trials: event.trials } : {}),
            ...(event.calibrationAccuracy !== undefined ? { calibrationAccuracy: event.calibrationAccuracy } : {}),
            ...(classes ? { classes } : {}),
          };
          log(`[${event.state}] ${event.detail}${event.calibrationAccuracy != null ? ` (calibration accuracy ${event.calibrationAccuracy.toFixed(3)})` : ''}`);
        }
        server.broadcast(message);
        if (event.kind === 'decision') decisionOutlet?.push(event.decision);
        else if (event.kind === 'status' && event.classes && config.lsl?.decisions && !opening) {
          const name = config.lsl.decisions;
          opening = DecisionOutlet.open(event.classes, name, { config: lslConfigFromEnv(), log }).then(
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
        }
        hooks.onEvent?.(event);
      },
      error(e: Error) {
        state = 'stopped';
        log(`pipeline error: ${e.message}`);
        server.broadcast({ type: 'error', message: e.message });
        server.broadcast({ type: 'status', state: 'stopped', detail: `pipeline error: ${e.message}` });
        resolve({ error: e });
      },
      complete() {
        resolve({});
      },
    });
  });
  return {
    server,
    source,
    done,
    async stop() {
      sub?.unsubscribe();
      await (await opening)?.close();
      await server.close();
    },
  };
}
