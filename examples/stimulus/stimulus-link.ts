// The stimulus pages' link to their session: the client library connected to the page's own
// server, the page clock mapped onto the stream clock, and markers sent with frame times.
import { NeurorxClient } from '../../src/client/neurorx-client.js';
import { pageServer } from '../../src/client/page-server.js';

/** One marker as sent: its value, the frame it marks (rAF timestamp, ms) and the stream time it was given (s). */
export interface SentMarker {
  value: string;
  frameTime: number;
  streamTime: number | undefined;
}

export class StimulusLink {
  readonly client = new NeurorxClient();
  /** Stream time = performance.now() / 1000 + offset; undefined until synchronised (or when the server gives no stream time). */
  offset: number | undefined;
  readonly sent: SentMarker[] = [];

  async connect(): Promise<void> {
    const { url, token } = pageServer(location);
    await this.client.connect(url, { ...(token ? { token } : {}), reconnect: { initialDelayMs: 500, maxDelayMs: 5000 } });
  }

  /**
   * Maps the page clock onto the stream clock (a few pings; see syncStreamClock). Kept fixed for a
   * run of stimuli so that their spacing on the stream clock is exactly their spacing in frames.
   */
  async sync(): Promise<number | undefined> {
    this.offset = await this.client.syncStreamClock(8);
    return this.offset;
  }

  /**
   * Sends a marker for the frame that began at `frameTime` (rAF timestamp, ms). Without an offset
   * the marker goes untimed: the session stamps it with the next sample (a chunk's worth late).
   */
  mark(value: string, frameTime: number): void {
    const streamTime = this.offset === undefined ? undefined : frameTime / 1000 + this.offset;
    this.client.sendMarker(value, streamTime);
    this.sent.push({ value, frameTime, streamTime });
  }
}

/** A URL parameter of the page, or `fallback`. */
export function param(name: string, fallback: string): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}
