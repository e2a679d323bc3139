import type { Observable } from 'rxjs';
import type { z } from 'zod';
import type { Source } from '../devices/open-source.js';
import type { Decision } from '../src/stream/decision.js';
import type { PipelineHooks } from '../src/stream/pipeline-hooks.js';

/**
 * A pipeline kind as one object: everything the session, the replay, the recorder, the config
 * loader and the command line need to know about it. Built-in kinds (motor-imagery, emotion,
 * meg-image) and users' plug-ins (`"plugins": ["./my-pipeline.js"]` in a config) are the same.
 */
export interface PipelinePlugin<S extends PipelineSettings = PipelineSettings, E = unknown> {
  /** The value of `pipeline.kind` in a config. */
  readonly kind: string;
  /** One line for `neurorx schema` and error messages. */
  readonly description: string;
  /** The zod schema of the config's `pipeline` section for this kind (a strict object with `kind: z.literal(kind)`). */
  readonly settings: z.ZodType<S, unknown>;
  /**
   * The WebSocket messages this pipeline emits besides the core ones (decision, command, cue,
   * status), by message type: zod schemas of the message without the envelope's `v`. Each type is
   * also a topic clients can subscribe to.
   */
  readonly messages?: Readonly<Record<string, z.ZodObject>>;
  /**
   * The message types that carry the decoder's output: recorded with the session, compared by
   * `neurorx replay --check`, withheld while the session is paused.
   */
  readonly outputs: readonly string[];
  /** The pipeline of one session or replay: it may train or load its model once and run many times. */
  open(settings: S, context: PipelineContext): PipelineInstance<S, E>;
  /** What the session makes of one of the pipeline's events (undefined: nothing to send). */
  describe(event: E): PipelineOutput | undefined;
  /** A client asked to calibrate anew (or to stop calibrating); default: nothing to do. */
  calibrate?(configured: S, request: CalibrationRequest): CalibrationAnswer<S>;
  /**
   * The settings a replay runs with, decoding with the model the live session recorded (at
   * `modelPath`, or none was recorded). Throws when the recording cannot be replayed.
   */
  forReplay?(settings: S, modelPath: string | undefined, origin: string): S;
  /** Offline evaluation (`neurorx evaluate --pipeline <decoder,...>`). */
  readonly evaluate?: PipelineEvaluation;
}

/** What every pipeline section has. */
export interface PipelineSettings {
  readonly kind: string;
}

export interface PipelineContext {
  /** One line for the session log (a function property: plug-ins pass it on as it is). */
  readonly log: (line: string) => void;
  /** Channels and rate of the stream the pipeline will run on. */
  readonly stream: { readonly channels: number; readonly sampleRate: number };
}

export interface PipelineInstance<S, E> {
  /**
   * The pipeline's events for `source`, run with `settings` (the configured ones, or those a
   * calibration request asked for). Called again for every restart; the source keeps running.
   */
  run(source: Source, settings: S, hooks: PipelineHooks): Observable<E>;
  /** Frees what the instance holds (models, tensors); called once when the session or replay ends. */
  dispose?(): void;
}

/** A message of a plug-in's own type (see `PipelinePlugin.messages`). */
export interface PipelineMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

export type SessionState = 'calibrating' | 'running' | 'stopped';

/** How the session shows a pipeline event. */
export type PipelineOutput =
  /** Where the pipeline stands (calibrating, running, stopped) and why. */
  | {
      readonly kind: 'status';
      readonly state: SessionState;
      readonly detail: string;
      readonly trials?: Readonly<Record<string, number>>;
      readonly calibrationAccuracy?: number | null;
      readonly classes?: readonly string[];
    }
  /** A classifier's decision: a `decision` message, a `command` when it fired one, LSL decision outlets. */
  | { readonly kind: 'decision'; readonly decision: Decision & { readonly command?: string; readonly candidate?: string | null } }
  /** Any other message; with `latencyMs` it is a decoder output (counted in the session's stats). */
  | { readonly kind: 'message'; readonly message: PipelineMessage; readonly latencyMs?: number };

export interface CalibrationRequest {
  readonly action: 'start' | 'stop';
  /** Cued trials per class to collect, when the client said. */
  readonly trialsPerClass?: number;
}

export interface CalibrationAnswer<S> {
  /** Said to the clients (a status detail). */
  readonly detail?: string;
  /** Run the pipeline again with these settings, for this reason (recorded). */
  readonly restart?: { readonly settings: S; readonly reason: string };
}

export interface PipelineEvaluation {
  /** Decoder names `--pipeline` accepts for this kind. */
  readonly decoders: readonly string[];
  /** Runs the evaluation of `decoders` with the command line's options; prints, and resolves when done. */
  run(decoders: readonly string[], options: Readonly<Record<string, unknown>>): Promise<void>;
}
