/**
 * The neurorx WebSocket protocol (version 2) as plain TypeScript types, for clients that must not
 * load zod: the browser client (neurorx-client.ts) and anything built on it. The zod schemas in
 * src/server/messages.ts are the source of truth; protocol-types.check.ts fails to compile when
 * these types and those schemas disagree. This module has no runtime content besides the two
 * constants below, so it loads as a plain ES module in a browser.
 *
 * Every message is one JSON object `{ "v": 2, "type": ..., ... }`. Server messages always carry
 * `v`; in client messages it may be left out.
 */

/** The protocol version this file describes (the envelope's `v`). */
export const PROTOCOL_VERSION = 2;

/** Every topic a server offers. */
export const TOPICS = ['decision', 'command', 'cue', 'status', 'signal', 'retrieval', 'emotion'] as const;

/** What a client can subscribe to. `status` (with hello, error, pong) is on by default, `signal` is opt-in. */
export type BuiltinTopic = 'decision' | 'command' | 'cue' | 'status' | 'signal' | 'retrieval' | 'emotion';
/** A topic: a built-in one, or the message type of a pipeline plug-in the server runs (the hello lists them). */
export type Topic = BuiltinTopic | (string & {});

export type SessionState = 'calibrating' | 'running' | 'paused' | 'stopped';

/** Class -> probability (0..1). */
export type Probabilities = Record<string, number>;

/** The envelope's version as servers send it. */
export type ProtocolVersion = 2;

// ---------------------------------------------------------------------------------------------
// Server -> client

/** First message on every connection. */
export interface HelloMessage {
  v: ProtocolVersion;
  type: 'hello';
  protocol: ProtocolVersion;
  /** Software and version, e.g. "neurorx 0.1.0". */
  server: string;
  pipeline: { kind: string; name: string };
  stream: { name: string; type: string; sampleRate: number; channels: string[] };
  state: SessionState;
  /** Known once the decoder is trained. */
  classes?: string[];
  /** The last status detail, so a late joiner sees what the session is doing. */
  detail?: string;
  /** While calibrating: trials collected per class so far. */
  trials?: Record<string, number>;
  /** Every topic this server offers. */
  topics: string[];
  /** This client's subscriptions. */
  subscribed: string[];
}

/** One decoded window (topic `decision`). */
export interface DecisionMessage {
  v: ProtocolVersion;
  type: 'decision';
  /** Running number of the decision, from 0. */
  seq: number;
  /** The most probable class (with a control stage: the confident class or the rest label). */
  label: string;
  probabilities: Probabilities;
  /** Stream time (s) of the last sample of the decided window. */
  timestamp: number;
  /** Ms from that sample reaching neurorx to the decision. */
  latencyMs: number;
  /** With a control stage: smoothed probabilities. */
  smoothed?: Probabilities;
  /** With a control stage: where the command gate stands. */
  state?: 'rest' | 'dwelling' | 'fired' | 'refractory';
  /** With a control stage: the class being dwelt on. */
  candidate?: string | null;
  /** With a control stage: the command this decision fired. */
  command?: string;
}

/** A command fired by the control stage (topic `command`). */
export interface CommandMessage {
  v: ProtocolVersion;
  type: 'command';
  /** The command mapped from the class (pipeline.control.commands). */
  command: string;
  /** The class that fired it. */
  label: string;
  /** The decision that fired it. */
  seq: number;
  /** Stream time (s). */
  timestamp: number;
}

/** A cue seen in the stream (topic `cue`). */
export interface CueMessage {
  v: ProtocolVersion;
  type: 'cue';
  /** The class the user is cued to imagine. */
  label: string;
  /** The marker value that carried the cue. */
  marker: string;
  /** Stream time (s) of the cue. */
  timestamp: number;
}

export type ChannelFlag = 'ok' | 'flat' | 'railed' | 'noisy';

/** Raw signal for display (topic `signal`, opt-in). */
export interface SignalMessage {
  v: ProtocolVersion;
  type: 'signal';
  /** Stream time (s) of the first sample. */
  t0: number;
  /** Sample rate of this frame after decimation, Hz. */
  rate: number;
  channels: string[];
  /** Per channel, µV with the channel mean removed, decimated by block averaging. */
  data: number[][];
  /** Per channel, over the last second. */
  flags: ChannelFlag[];
}

/** Power spectrum of the last second (topic `signal`). */
export interface SpectrumMessage {
  v: ProtocolVersion;
  type: 'spectrum';
  /** Stream time (s) of the end of the analysed second. */
  timestamp: number;
  /** Frequency bins, Hz. */
  freqs: number[];
  /** Mean power over channels per bin, dB (µV²/Hz). */
  power: number[];
  /** Band -> per-channel power, dB (band edges in `bandEdges`). */
  bands: Record<string, number[]>;
  /** Band -> [low, high] Hz: the edges the band powers were summed over. */
  bandEdges: Record<string, [number, number]>;
}

/** Throughput and latency figures (topic `status`). */
export interface StatsMessage {
  v: ProtocolVersion;
  type: 'stats';
  decisionsPerSecond: number;
  /** Decision latency over the last second. */
  latencyMs: { p50: number; p99: number };
  /** Samples the source lost so far (gaps). */
  samplesDropped: number;
  /** Messages dropped for this client because it read too slowly. */
  messagesDropped: number;
  clients: number;
}

/** Retrieval results (topic `retrieval`). */
export interface RetrievalMessage {
  v: ProtocolVersion;
  type: 'retrieval';
  seq: number;
  /** Stream time (s) of the image onset. */
  timestamp: number;
  latencyMs: number;
  /** The image the onset marker named, when the stream says. */
  shown?: string;
  /** Best candidates first; score: cosine similarity. */
  topK: { id: string; label?: string; score: number }[];
}

/** One emotion dimension of an estimate. */
export interface EmotionAxis {
  /** The most probable class after smoothing: "low"/"high", or "1".."5". */
  label: string;
  /** The expected class mapped to -1 (lowest) .. 1 (highest). */
  score: number;
}

/** Emotion estimate (topic `emotion`). */
export interface EmotionMessage {
  v: ProtocolVersion;
  type: 'emotion';
  seq: number;
  timestamp: number;
  latencyMs: number;
  /** Negative (low) .. positive (high). */
  valence?: EmotionAxis;
  /** Calm (low) .. excited (high). */
  arousal?: EmotionAxis;
  /** Per target, the smoothed probability of every class. */
  probabilities: { valence?: Probabilities; arousal?: Probabilities };
}

/** Session state changes and progress (topic `status`). */
export interface StatusMessage {
  v: ProtocolVersion;
  type: 'status';
  state: SessionState;
  detail: string;
  /** Calibration trials collected per class. */
  trials?: Record<string, number>;
  calibrationAccuracy?: number | null;
  classes?: string[];
  /** In the answer to subscribe/unsubscribe: this client's topics now. */
  subscribed?: string[];
  /** The source lost a stretch of signal (an LSL outage, lost serial packets, a truncated file). */
  gap?: { time: number; samples: number; seconds: number; cause: string };
  /** The source skipped, repaired or could not read something (a corrupt block, a silent device). */
  warning?: string;
}

/** A problem with the session or with this client's last message. */
export interface ErrorMessage {
  v: ProtocolVersion;
  type: 'error';
  message: string;
  /** The offending part of the client's message, when there is one. */
  path?: string;
}

/** Answer to a ping, with its id. */
export interface PongMessage {
  v: ProtocolVersion;
  type: 'pong';
  id?: string | number;
  /** Stream time (s) when the pong was sent (a session's server adds it): see NeurorxClient.syncStreamClock. */
  streamTime?: number;
}

export type ServerMessage =
  HelloMessage | DecisionMessage | CommandMessage | CueMessage | SignalMessage | SpectrumMessage | StatsMessage | RetrievalMessage | EmotionMessage | StatusMessage | ErrorMessage | PongMessage;

export type ServerMessageType = ServerMessage['type'];

/** The server message of one type. */
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

// ---------------------------------------------------------------------------------------------
// Client -> server (no other fields are accepted)

export interface PingMessage {
  v?: ProtocolVersion;
  type: 'ping';
  /** Echoed in the pong. */
  id?: string | number;
}

/** Adds topics (at least one). The server answers with a status naming the subscriptions. */
export interface SubscribeMessage {
  v?: ProtocolVersion;
  type: 'subscribe';
  topics: string[];
}

/** Removes topics (at least one). The server answers with a status naming the subscriptions. */
export interface UnsubscribeMessage {
  v?: ProtocolVersion;
  type: 'unsubscribe';
  topics: string[];
}

/** A marker into the stream, e.g. a cue matched against pipeline.events. */
export interface MarkerMessage {
  v?: ProtocolVersion;
  type: 'marker';
  /** 1..256 characters. */
  value: string;
  /** Stream time (s); default: the next sample to arrive. */
  time?: number;
}

export interface CalibrationMessage {
  v?: ProtocolVersion;
  type: 'calibration';
  /** start: calibrate anew from the live stream; stop: back to the configured decoder. */
  action: 'start' | 'stop';
  /** Cued trials per class to collect, 2..500 (default: the config, or 10). */
  trialsPerClass?: number;
}

export interface PauseMessage {
  v?: ProtocolVersion;
  type: 'pause';
}

export interface ResumeMessage {
  v?: ProtocolVersion;
  type: 'resume';
}

export type ClientMessage = PingMessage | SubscribeMessage | UnsubscribeMessage | MarkerMessage | CalibrationMessage | PauseMessage | ResumeMessage;

export type ClientMessageType = ClientMessage['type'];
