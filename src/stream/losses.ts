import { concat, from, Subject, type Observable, type Subscription } from 'rxjs';

/**
 * What a source lost or could not read. Nothing is dropped silently: a reader that skips a
 * corrupt block, an inlet whose outlet vanished for 7 s, a serial board that skipped packets, a
 * file cut short, all say so here, and inspect, the session's status messages and the recording
 * pass it on to the user.
 */
export interface Gap {
  /** Stream time (s) where the missing stretch begins. */
  readonly time: number;
  /** Samples missing (estimated from the nominal rate where the source cannot count them). */
  readonly samples: number;
  /** Length of the missing stretch, seconds. */
  readonly seconds: number;
  /** Why, in words: "LSL outlet unreachable", "serial packets lost", "file truncated", ... */
  readonly cause: string;
}

export type Loss = ({ readonly kind: 'gap' } & Gap) | { readonly kind: 'warning'; readonly message: string };

export interface LossSummary {
  readonly gaps: Gap[];
  readonly warnings: string[];
  /** Totals over every loss reported, kept ones or not. */
  readonly totals: { readonly gaps: number; readonly samples: number; readonly seconds: number; readonly warnings: number };
  /** Entries reported but not kept (beyond the bound). */
  readonly omitted: number;
}

/** Entries a log keeps by default; totals count every one. */
export const DEFAULT_LOSS_LOG_SIZE = 1000;

/**
 * A bounded log of losses with a live feed. Keeps the first `maxEntries` of each kind (the first
 * loss is usually the one that explains the rest) and counts every one in the totals.
 */
export class LossLog {
  private readonly gapList: Gap[] = [];
  private readonly warningList: string[] = [];
  private readonly subject = new Subject<Loss>();
  private totalGaps = 0;
  private totalSamples = 0;
  private totalSeconds = 0;
  private totalWarnings = 0;
  private omittedCount = 0;

  constructor(readonly maxEntries = DEFAULT_LOSS_LOG_SIZE) {}

  /** Every loss as it is reported (not replayed to late subscribers: read `summary()` for those). */
  get losses$(): Observable<Loss> {
    return this.subject.asObservable();
  }

  gap(gap: Gap): void {
    this.totalGaps++;
    this.totalSamples += gap.samples;
    this.totalSeconds += gap.seconds;
    if (this.gapList.length < this.maxEntries) this.gapList.push({ ...gap });
    else this.omittedCount++;
    this.subject.next({ kind: 'gap', ...gap });
  }

  warning(message: string): void {
    this.totalWarnings++;
    if (this.warningList.length < this.maxEntries) this.warningList.push(message);
    else this.omittedCount++;
    this.subject.next({ kind: 'warning', message });
  }

  report(loss: Loss): void {
    if (loss.kind === 'gap') this.gap(loss);
    else this.warning(loss.message);
  }

  summary(): LossSummary {
    return {
      gaps: this.gapList.map((g) => ({ ...g })),
      warnings: [...this.warningList],
      totals: { gaps: this.totalGaps, samples: this.totalSamples, seconds: this.totalSeconds, warnings: this.totalWarnings },
      omitted: this.omittedCount,
    };
  }
}

/** One line for a person: "gap of 7.02 s (1123 samples) at 982.01 s: LSL outlet unreachable". */
export function describeLoss(loss: Loss): string {
  if (loss.kind === 'warning') return loss.message;
  return `gap of ${loss.seconds.toFixed(2)} s (${loss.samples} samples) at ${loss.time.toFixed(2)} s: ${loss.cause}`;
}

/** The gap fields of a gap loss (without its `kind`). */
export function gapOf(loss: Extract<Loss, { kind: 'gap' }>): Gap {
  return { time: loss.time, samples: loss.samples, seconds: loss.seconds, cause: loss.cause };
}

/** Entries of a log reported before anyone listened (a file's reader warnings) that are passed on one by one; the rest are summed up. */
const EARLIER_LOSSES_SHOWN = 20;

/**
 * Hands `report` what `log` holds already (the first few, then one line for the rest) and then
 * every loss as it happens.
 */
export function reportLosses(log: LossLog, report: (loss: Loss) => void): Subscription {
  const s = log.summary();
  const earlier: Loss[] = [...s.warnings.map((message) => ({ kind: 'warning' as const, message })), ...s.gaps.map((g) => ({ kind: 'gap' as const, ...g }))];
  const shown = earlier.slice(0, EARLIER_LOSSES_SHOWN);
  const more = s.totals.gaps + s.totals.warnings - shown.length;
  if (more > 0) shown.push({ kind: 'warning', message: `and ${more} more gap(s)/warning(s) from the source (${s.totals.samples} samples missing in all)` });
  return concat(from(shown), log.losses$).subscribe(report);
}
