// What the dashboard knows of the session: filled in by apply-message.ts, drawn by the panels.
import type { ChannelFlag, DecisionMessage, Probabilities, RetrievalMessage, SpectrumMessage, StatsMessage } from '../../client/protocol-types.js';
import { ProbabilityRing } from './probability-ring.js';
import type { SignalRing } from './signal-ring.js';

export const HISTORY_ROWS = 40;
export const CUES_KEPT = 50;
export const COMMANDS_KEPT = 50;
export const EMOTION_TRAIL = 60;
export const RETRIEVALS_SHOWN = 12;

export interface CueMark {
  t: number;
  label: string;
}

export interface CommandMark {
  t: number;
  command: string;
  label: string;
}

export interface Model {
  /** "pipeline · stream · channels @ rate", from the hello. */
  streamInfo: string;
  /** The session's last status detail. */
  detail: string;
  channels: string[];
  sampleRate: number;
  classes: string[];
  /** Whether decisions carry smoothed probabilities (a control stage). */
  hasSmoothed: boolean;
  ring: SignalRing | null;
  flags: ChannelFlag[];
  spectrum: SpectrumMessage | null;
  cues: CueMark[];
  commands: CommandMark[];
  /** Decisions not yet in the history list. */
  pendingHistory: DecisionMessage[];
  /** While calibrating: trials collected per class. */
  trials: Record<string, number> | null;
  calibrationAccuracy: number | null;
  lastCue: CueMark | null;
  /** performance.now() when the last cue arrived. */
  lastCueAt: number;
  stats: StatsMessage | null;
  msgsThisSecond: number;
  msgsPerSecond: number;
  /** Image retrieval: the last onsets (newest first) and how often the shown image was in the top k. */
  retrieval: { recent: RetrievalMessage[]; hits: number; scored: number };
  probs: ProbabilityRing;
  /** The probabilities the bars show: the last decision's (smoothed when it has them). */
  lastProbs: Probabilities | null;
  /** The last EMOTION_TRAIL emotion estimates' scores, oldest first, in [-1, 1]. */
  emotionTrail: { v: number; a: number }[];
}

export function createModel(): Model {
  return {
    streamInfo: '',
    detail: '',
    channels: [],
    sampleRate: 0,
    classes: [],
    hasSmoothed: false,
    ring: null,
    flags: [],
    spectrum: null,
    cues: [],
    commands: [],
    pendingHistory: [],
    trials: null,
    calibrationAccuracy: null,
    lastCue: null,
    lastCueAt: 0,
    stats: null,
    msgsThisSecond: 0,
    msgsPerSecond: 0,
    retrieval: { recent: [], hits: 0, scored: 0 },
    probs: new ProbabilityRing(),
    lastProbs: null,
    emotionTrail: [],
  };
}
