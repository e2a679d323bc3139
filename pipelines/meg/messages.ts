import { z } from 'zod';
import type { Retrieval } from './pipeline.js';

/** The `retrieval` message (without the envelope's `v`): the best gallery images for one image onset. */
export const retrievalMessage = z.object({
  type: z.literal('retrieval'),
  seq: z.number().int().nonnegative().describe('running number of the decoded image epoch, from 0'),
  timestamp: z.number().describe('stream time (s) of the image onset'),
  latencyMs: z.number().describe('ms from the chunk completing the epoch reaching neurorx to the top-k'),
  shown: z.string().optional().describe('the image the onset marker named, when the stream says (replays, simulations)'),
  topK: z.array(z.object({ id: z.string(), label: z.string().optional(), score: z.number() })).describe('best candidates first; score: cosine similarity'),
});

export type RetrievalMessage = z.infer<typeof retrievalMessage>;

/** The WebSocket form of a retrieval. */
export function retrievalMessageOf(r: Retrieval): RetrievalMessage {
  return { type: 'retrieval', seq: r.seq, timestamp: r.timestamp, latencyMs: r.latencyMs, shown: r.shown, topK: r.topK.map(({ id, label, score }) => ({ id, ...(label ? { label } : {}), score })) };
}
