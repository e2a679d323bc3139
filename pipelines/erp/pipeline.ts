import { concat, defer, from, mergeMap, Observable, of, switchMap, tap } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Source } from '../../devices/open-source.js';
import { fromSample, reportStages, type PipelineHooks } from '../../src/stream/pipeline-hooks.js';
import type { Decision } from '../../src/stream/decision.js';
import { erpFilter, flashEpochs, type FlashEpoch } from './flash-epochs.js';
import type { ErpEvidenceMessage, ErpScoreMessage } from './messages.js';
import type { ErpModel } from './model.js';
import { SelectionEvidence } from './selection-evidence.js';
import type { ErpSettings } from './settings.js';

export type ErpEvent =
  | { kind: 'status'; state: 'calibrating' | 'running' | 'stopped'; detail: string }
  | { kind: 'score'; score: ErpScoreMessage }
  | { kind: 'evidence'; evidence: ErpEvidenceMessage }
  | { kind: 'decision'; decision: Decision };

/**
 * The ERP session: the stream band-passed causally (state kept across chunks), an epoch after every
 * flash marker (a calibration target/non-target marker or a selection item's), baseline and
 * amplitude check, then the model's target log-odds as an `erp-score`; in a selection task each
 * score also feeds the items' evidence (`erp-evidence`) and, when it suffices, a `decision` naming
 * the item.
 */
export function erpPipeline(source: Source, settings: ErpSettings, model: Promise<ErpModel>, hooks: PipelineHooks = {}): Observable<ErpEvent> {
  return defer(() => model).pipe(
    switchMap((m) => {
      const { file } = m;
      if (source.info.sampleRate !== file.sampleRate) throw new Error(`ERP model was trained at ${file.sampleRate} Hz but stream "${source.info.name}" runs at ${source.info.sampleRate} Hz`);
      const selection = settings.selection ? new SelectionEvidence(settings.selection, m.priorLogOdds) : undefined;
      const flashes = new Set([...settings.events.targets, ...settings.events.nonTargets]);
      const isFlash = (v: string): string | undefined => (flashes.has(v) || selection?.has(v) ? v : undefined);
      let receivedAt = 0;
      let seq = 0;
      let decisions = 0;
      const events$ = source.chunks$.pipe(
        reportStages(hooks.onStart, 'input', 'decode'),
        erpFilter(file.channels, file.preprocessing),
        fromSample(hooks.decodeFrom),
        tap((c) => (receivedAt = c.receivedAt)),
        flashEpochs(file.preprocessing, isFlash, () => receivedAt),
        mergeMap((f) => from(scoreFlash(f))),
      );
      function scoreFlash(f: FlashEpoch): ErpEvent[] {
        const score = f.rejected ? null : m.decoder.score(f);
        const latencyMs = performance.now() - f.receivedAt;
        const n = seq++;
        const out: ErpEvent[] = [
          {
            kind: 'score',
            score: { type: 'erp-score', seq: n, marker: f.marker, timestamp: f.time, latencyMs, rejected: f.rejected, score, probability: score === null ? null : 1 / (1 + Math.exp(-score)) },
          },
        ];
        if (!selection || score === null || !selection.has(f.marker)) return out;
        const s = selection.add(f.marker, score);
        out.push({ kind: 'evidence', evidence: { type: 'erp-evidence', seq: n, timestamp: f.time, posteriors: s.posteriors, repetitions: s.repetitions } });
        if (s.decided !== undefined) out.push({ kind: 'decision', decision: { seq: decisions++, label: s.decided, probabilities: s.posteriors, timestamp: f.time, latencyMs } });
        return out;
      }
      hooks.onModel?.(() => m.toJSON());
      return concat(
        of<ErpEvent>({
          kind: 'status',
          state: 'running',
          detail: `scoring flashes with ${file.decoder.kind} on ${file.channels.join(', ')}${selection ? ` (selection among ${selection.items.length} items)` : ''}`,
        }),
        events$,
        of<ErpEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
      );
    }),
  );
}
