import { defer, map, type Observable } from 'rxjs';
import { z } from 'zod';
import { Random } from '../util/random.js';
import { MarkerInjector } from './marker-injector.js';
import type { Chunk } from './types.js';

export const cueGeneratorSchema = z
  .object({
    leadIn: z.number().min(0).max(3600).default(3).describe('seconds of stream before the first cue'),
    trialSeconds: z.number().positive().max(600).default(8).describe('seconds from one cue to the next (imagery plus rest)'),
    jitter: z.number().min(0).max(600).default(1).describe('extra random rest before each cue, 0..jitter seconds'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1)
      .describe('seed of the cue order and jitter'),
  })
  .strict();

export type CueGeneratorSettings = z.infer<typeof cueGeneratorSchema>;

export interface ScheduledCue {
  /** Seconds after the first chunk's time. */
  readonly offset: number;
  readonly label: string;
}

/**
 * A calibration run: `trialsPerClass` cues of each class in a seeded random order, shuffled
 * within blocks of one cue per class so the classes stay balanced over time (fatigue and drift
 * then hit every class alike), spaced `trialSeconds` plus a random 0..jitter.
 */
export function cueSchedule(classes: readonly string[], trialsPerClass: number, s: CueGeneratorSettings): ScheduledCue[] {
  if (classes.length < 2) throw new Error(`cue generator: at least two classes needed, got ${classes.length}`);
  if (!Number.isInteger(trialsPerClass) || trialsPerClass < 1) throw new Error(`cue generator: trialsPerClass must be a positive integer, got ${trialsPerClass}`);
  const rng = new Random(s.seed);
  const cues: ScheduledCue[] = [];
  let t = s.leadIn;
  for (let block = 0; block < trialsPerClass; block++) {
    for (const label of rng.shuffle([...classes])) {
      t += rng.uniform() * s.jitter;
      cues.push({ offset: t, label });
      t += s.trialSeconds;
    }
  }
  return cues;
}

/**
 * neurorx's own cue generator: stamps the schedule onto the stream clock at the first chunk and
 * inserts each cue as a marker into the chunk whose span covers it. Deterministic for a recorded
 * or replayed stream: cue times depend only on stream time and the seed.
 */
export function withGeneratedCues(chunks$: Observable<Chunk>, schedule: readonly ScheduledCue[]): Observable<Chunk> {
  return defer(() => {
    // Our own schedule, bounded by the config: the limits for clients' markers do not apply.
    const injector = new MarkerInjector(Infinity, Infinity);
    let started = false;
    return chunks$.pipe(
      map((chunk) => {
        if (!started) {
          started = true;
          for (const c of schedule) injector.push(c.label, chunk.time + c.offset);
        }
        return injector.inject(chunk);
      }),
    );
  });
}
