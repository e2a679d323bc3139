import { filter, identity, map, Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { sliceChunk } from './chunk.js';
import type { Chunk } from './types.js';

/**
 * Where a pipeline's stages started on the stream: what a recording needs to reproduce a live run.
 * - "input": the first chunk the pipeline consumed (its filters' state starts there);
 * - "decode": the first chunk its decoder saw (later than "input" when the decoder was trained on
 *   the live stream first).
 */
export type PipelineStage = 'input' | 'decode';

export interface PipelineHooks {
  /** Called once per stage with the index of the first sample that stage saw. */
  onStart?: (stage: PipelineStage, firstSample: number) => void;
  /**
   * Called when a model starts decoding (trained, loaded or retrained) with a function giving its
   * JSON form (which may throw: a model whose weights live in files it has not written yet).
   */
  onModel?: (model: () => unknown) => void;
  /**
   * Replay: the decoder starts at this sample index, as it did in the recorded live run (samples
   * before it only feed the filters).
   */
  decodeFrom?: number;
}

/** Passes chunks through, reporting the first one's sample index once per subscription. */
export function onFirstChunk(report: ((firstSample: number) => void) | undefined): MonoTypeOperatorFunction<Chunk> {
  if (!report) return identity;
  return (source) =>
    new Observable<Chunk>((subscriber) => {
      let seen = false;
      return source.subscribe({
        next(chunk) {
          if (!seen) {
            seen = true;
            report(chunk.firstSample);
          }
          subscriber.next(chunk);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/** Passes chunks through, reporting the first one as the start of every stage in `stages`. */
export function reportStages(onStart: PipelineHooks['onStart'], ...stages: PipelineStage[]): MonoTypeOperatorFunction<Chunk> {
  return onFirstChunk(onStart && ((n) => stages.forEach((stage) => onStart(stage, n))));
}

/**
 * Drops every sample before global index `first` (cutting the chunk that straddles it), with the
 * markers before the first kept sample.
 */
export function fromSample(first: number | undefined): MonoTypeOperatorFunction<Chunk> {
  if (first === undefined) return identity;
  return (source) =>
    source.pipe(
      filter((chunk) => chunk.firstSample + chunk.samples > first),
      map((chunk) => (chunk.firstSample >= first ? chunk : sliceChunk(chunk, first - chunk.firstSample, chunk.samples))),
    );
}
