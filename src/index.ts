/**
 * neurorx as a library: streams of EEG/MEG chunks (RxJS), sources by URI, the operators that
 * filter, window and epoch them, sessions that serve decisions over WebSocket, and the pipeline
 * plug-in interface. Sub-paths: `neurorx/dsp`, `neurorx/ml`, `neurorx/lsl`, `neurorx/serial`,
 * `neurorx/client` (browser-safe). What is not exported from one of these is internal.
 *
 * @packageDocumentation
 */
export { z } from 'zod';
export { VERSION } from './version.js';
// streams
export type { Chunk, ChannelInfo, ChannelType, Marker, SensorPosition, StreamInfo } from './stream/types.js';
export { channelCount, lastSampleTime, sampleTime } from './stream/types.js';
export { sliceChunk, withChannels, withData } from './stream/chunk.js';
export type { Decision } from './stream/decision.js';
export { LossLog, describeLoss, reportLosses, type Gap, type Loss, type LossSummary } from './stream/losses.js';
export type { PipelineHooks, PipelineStage } from './stream/pipeline-hooks.js';
export { cueGeneratorSchema, cueSchedule, withGeneratedCues, type CueGeneratorSettings, type ScheduledCue } from './stream/cue-generator.js';
// the operators people use most (the rest: neurorx/dsp)
export { bandpass, bandstop, highpass, lowpass, notch } from './dsp/filter-operators.js';
export { slidingWindows, type Window, type WindowOptions } from './dsp/windows.js';
export { markerEpochs, type Epoch, type EpochOptions } from './dsp/epochs.js';
// sources
export { openSource, loadRecording, type Source } from '../devices/open-source.js';
export type { ReplayOptions } from '../devices/file/replay.js';
export type { SourceUri } from '../devices/source-uri.js';
export type { XdfStream } from '../devices/file/xdf-reader.js';
export type { Recording } from './stream/recording.js';
// sessions and configs
export { startSession, type Session, type SessionHooks } from './session/run-session.js';
export type { SessionEvent } from './session/event-messages.js';
export type { SessionEntry, SessionRecorder } from './session/session-recorder.js';
export { configSchema, configSchemaFor, loadConfig, parseConfig, ConfigError, type BuiltinPipelineSettings, type Config } from './config/config-schema.js';
export { loadPlugins } from './config/load-plugins.js';
export { replayDecisions, type ReplayDecisionsOptions, type ReplayResult } from './session/replay-session.js';
export { readRecordedSession, type RecordedSession } from './session/recorded-session.js';
// pipeline plug-ins
export type {
  CalibrationAnswer,
  CalibrationRequest,
  PipelineContext,
  PipelineEvaluation,
  PipelineInstance,
  PipelineMessage,
  PipelineOutput,
  PipelinePlugin,
  PipelineSettings,
  SessionState,
} from '../pipelines/pipeline-plugin.js';
export { PipelineRegistry, pipelineRegistry, type AnyPipelinePlugin } from '../pipelines/registry.js';
export { motorImageryPlugin } from '../pipelines/motor-imagery/plugin.js';
export type { PipelineEvent as MotorImageryEvent } from '../pipelines/motor-imagery/pipeline.js';
export type { MotorImagerySettings } from '../pipelines/motor-imagery/settings.js';
export { emotionPlugin } from '../pipelines/emotion/plugin.js';
export type { EmotionEvent } from '../pipelines/emotion/pipeline.js';
export type { EmotionSettings } from '../pipelines/emotion/settings.js';
export { megImagePlugin } from '../pipelines/meg/plugin.js';
export type { MegEvent } from '../pipelines/meg/pipeline.js';
export type { MegImageSettings } from '../pipelines/meg/settings.js';
// the server a session runs, and its messages
export { BciServer, type ServerOptions } from './server/ws-server.js';
export type { HelloInfo, OutboundMessage, ServerMessage, Topic } from './server/messages.js';
