// What tests (and curious people) read from the page as `window.__neurorx`.
import type { DecisionMessage, EmotionMessage, RetrievalMessage, SessionState } from '../../client/protocol-types.js';

/** The session's state as the page knows it, or where the connection stands. */
export type PageState = SessionState | 'connecting' | 'disconnected';

/** Redraws and their ms, ms spent applying messages, animation frames seen and missed (perf mode). */
export interface Perf {
  draws: number;
  drawMsTotal: number;
  drawMsMax: number;
  drawMsAvg: number;
  handleMsTotal: number;
  handleMsMax: number;
  buildMsTotal: number;
  frames: number;
  dropped: number;
}

export interface Probe {
  /** Messages received, by type. */
  messages: Record<string, number>;
  state: PageState;
  lastDecision: DecisionMessage | null;
  lastEmotion: EmotionMessage | null;
  lastRetrieval: RetrievalMessage | null;
  connected: boolean;
  perf: Perf;
}

/** A fresh probe, published on the window. */
export function publishProbe(): Probe {
  const probe: Probe = {
    messages: {},
    state: 'connecting',
    lastDecision: null,
    lastEmotion: null,
    lastRetrieval: null,
    connected: false,
    perf: { draws: 0, drawMsTotal: 0, drawMsMax: 0, drawMsAvg: 0, handleMsTotal: 0, handleMsMax: 0, buildMsTotal: 0, frames: 0, dropped: 0 },
  };
  (window as unknown as { __neurorx: Probe }).__neurorx = probe;
  return probe;
}
