import type { OperatorFunction } from 'rxjs';
import type { Decision } from '../stream/decision.js';
import { statefulOperator } from '../stream/stateful-operator.js';
import { type ControlSettings, parseControlSettings } from './control-settings.js';
import { ProbabilitySmoother } from './smoothing.js';

/**
 * Where the command gate stands after a decision:
 * - "rest": no class is confident enough (the output label is the rest label);
 * - "dwelling": a class is confident but has not yet persisted for the dwell time (or is unmapped);
 * - "fired": this decision fired a command;
 * - "refractory": firing is blocked, either within the refractory period after a command or,
 *   with `rearm: 'rest'`, because the class whose command fired last is held without a rest.
 */
export type ControlState = 'rest' | 'dwelling' | 'fired' | 'refractory';

/** A decision after the control stage. */
export interface ControlledDecision extends Decision {
  /**
   * The top smoothed class when it passes threshold and margin, else the rest label. (The decoder's
   * own top class is still the argmax of `probabilities`.)
   */
  readonly label: string;
  /** Smoothed probabilities, renormalised to sum 1. */
  readonly smoothed: Readonly<Record<string, number>>;
  readonly state: ControlState;
  /** The confident class being dwelt on (or that just fired), null at rest. */
  readonly candidate: string | null;
  /** The command fired by this decision; present only on the decision where it fires. */
  readonly command?: string;
}

/**
 * Elapsed stream times are compared with this slack (ms): timestamps are seconds in floating
 * point, and e.g. ten 0.1 s hops add up to 999.9999999999999 ms, which must count as 1000.
 * 1 µs is far below any sample period.
 */
const TIME_SLACK_MS = 1e-3;

/**
 * The confident class of a probability record, or null: the top class must reach `threshold`, lead
 * the runner-up by at least `margin`, and not tie with it (a tie is no decision). A top class named
 * `restLabel` also gives null.
 */
export function confidentClass(probabilities: Readonly<Record<string, number>>, threshold: number, margin: number, restLabel: string): string | null {
  let best: string | null = null;
  let top = -Infinity;
  let second = -Infinity;
  for (const label in probabilities) {
    if (!Object.hasOwn(probabilities, label)) continue;
    const p = probabilities[label];
    if (!(p >= 0)) continue; // NaN or negative: no evidence for anything
    if (p > top) {
      second = top;
      top = p;
      best = label;
    } else if (p > second) {
      second = p;
    }
  }
  if (best === null || best === restLabel) return null;
  if (second === -Infinity) second = 0; // a lone class leads by its whole probability
  if (top < threshold || top === second || top - second < margin) return null;
  return best;
}

export interface CommandGateOptions {
  dwellMs: number;
  refractoryMs: number;
  rearm: 'rest' | 'time';
  /** Class label -> command; unmapped classes never fire. */
  commands: Readonly<Record<string, string>>;
}

/**
 * The dwell / refractory / rearm state machine, free of RxJS and allocation-free per step. Feed it
 * the confident class of each decision (null for rest) with the decision's stream time:
 *
 * - Dwell: a class fires once it has been the confident class at every decision for `dwellMs`
 *   (time between the first decision of the run and the current one, so with 250 ms hops and
 *   dwellMs 1000 it fires on the 5th consecutive decision). Rest or another class restarts the run;
 *   firing restarts it too, so a held class under `rearm: 'time'` repeats every
 *   max(dwellMs, refractoryMs).
 * - Refractory: nothing fires until `refractoryMs` after the last command. A run may build up during
 *   that time, so a different class held through it fires as soon as the period ends.
 * - Rearm "rest": the command that fired last fires again only after a rest decision; a different
 *   command is not held back (left, right, left fires three times without rest).
 * - Stream time going backwards (a replay loop restarting, a new recording) resets the gate fully:
 *   nothing from the old timeline can dwell on or block the new one.
 * - A non-finite time cannot be timed: the decision counts as an interruption (the run restarts)
 *   and is reported as rest, but refractory and rearm state are kept, so it cannot cause a fire.
 */
export class CommandGate {
  private readonly dwellMs: number;
  private readonly refractoryMs: number;
  private readonly rearmOnRest: boolean;
  private readonly commands: Readonly<Record<string, string>>;

  /** The class of the current run and the time it began (or last fired). */
  private runLabel: string | null = null;
  private runStartMs = 0;
  private lastTimeMs = -Infinity;
  private lastFireMs = -Infinity;
  /** The command fired last, while it still awaits a rest to rearm (rearm "rest" only). */
  private awaitingRest: string | null = null;

  /** State after the latest step. */
  state: ControlState = 'rest';
  /** Candidate class after the latest step. */
  candidate: string | null = null;
  /** Command fired by the latest step, if any. */
  command: string | undefined = undefined;

  constructor(options: CommandGateOptions) {
    this.dwellMs = options.dwellMs;
    this.refractoryMs = options.refractoryMs;
    this.rearmOnRest = options.rearm === 'rest';
    this.commands = options.commands;
    if (!(this.dwellMs >= 0)) throw new RangeError(`dwellMs must be >= 0, got ${this.dwellMs}`);
    if (!(this.refractoryMs >= 0)) throw new RangeError(`refractoryMs must be >= 0, got ${this.refractoryMs}`);
  }

  /** Back to the initial state: no run, no refractory period, armed. */
  reset(): void {
    this.runLabel = null;
    this.runStartMs = 0;
    this.lastTimeMs = -Infinity;
    this.lastFireMs = -Infinity;
    this.awaitingRest = null;
    this.state = 'rest';
    this.candidate = null;
    this.command = undefined;
  }

  /** Advances by one decision: `label` is its confident class (null = rest), `timeMs` its stream time. */
  step(label: string | null, timeMs: number): ControlState {
    this.command = undefined;
    if (!Number.isFinite(timeMs)) {
      this.runLabel = null;
      this.candidate = null;
      return (this.state = 'rest');
    }
    if (timeMs < this.lastTimeMs) this.reset();
    this.lastTimeMs = timeMs;
    this.candidate = label;

    if (label === null) {
      this.runLabel = null;
      this.awaitingRest = null; // a rest rearms every command
      return (this.state = this.inRefractory(timeMs) ? 'refractory' : 'rest');
    }
    if (label !== this.runLabel) {
      this.runLabel = label;
      this.runStartMs = timeMs;
    }
    if (this.inRefractory(timeMs)) return (this.state = 'refractory');

    const command = Object.hasOwn(this.commands, label) ? this.commands[label] : undefined;
    if (command === undefined) return (this.state = 'dwelling'); // confident but never fires
    if (this.awaitingRest === command) return (this.state = 'refractory');
    if (timeMs - this.runStartMs + TIME_SLACK_MS < this.dwellMs) return (this.state = 'dwelling');

    this.command = command;
    this.lastFireMs = timeMs;
    this.runStartMs = timeMs; // the dwell that fired is used up
    if (this.rearmOnRest) this.awaitingRest = command;
    return (this.state = 'fired');
  }

  private inRefractory(timeMs: number): boolean {
    return timeMs - this.lastFireMs + TIME_SLACK_MS < this.refractoryMs;
  }
}

/**
 * The whole control stage for one decision stream, without RxJS: smoothing, threshold / margin,
 * then the command gate. When stream time goes backwards both the smoother and the gate reset, so
 * a replay that loops behaves on every pass as on the first.
 */
export class DecisionController {
  private readonly settings: ControlSettings;
  private readonly smoother: ProbabilitySmoother;
  private readonly gate: CommandGate;
  private lastTimestamp = -Infinity;

  constructor(settings: ControlSettings) {
    this.settings = settings;
    this.smoother = new ProbabilitySmoother(settings.smoothing);
    this.gate = new CommandGate(settings);
  }

  reset(): void {
    this.smoother.reset();
    this.gate.reset();
    this.lastTimestamp = -Infinity;
  }

  process(decision: Decision): ControlledDecision {
    const t = decision.timestamp;
    if (t < this.lastTimestamp) this.reset(); // NaN compares false: left to the gate
    if (Number.isFinite(t)) this.lastTimestamp = t;

    const s = this.settings;
    const smoothed = this.smoother.smooth(decision.probabilities);
    const confident = confidentClass(smoothed, s.threshold, s.margin, s.restLabel);
    const gate = this.gate;
    gate.step(confident, t * 1000);
    const out: ControlledDecision = {
      ...decision,
      label: gate.candidate ?? s.restLabel,
      smoothed,
      state: gate.state,
      candidate: gate.candidate,
    };
    // The key exists only on a firing decision, so `'command' in d` works as a test too.
    return gate.command === undefined ? out : { ...out, command: gate.command };
  }
}

/**
 * Turns a decoder's decisions into control-grade ones: smoothed, thresholded to a rest label,
 * gated by dwell, refractory period and rearm, with `command` set on the decision where a mapped
 * command fires. Settings are validated (and defaults filled) when the operator is created, so bad
 * settings fail there, naming the field. Each subscription has its own state.
 */
export function controlDecisions(settings: ControlSettings): OperatorFunction<Decision, ControlledDecision> {
  const valid = parseControlSettings(settings);
  return statefulOperator(() => {
    const controller = new DecisionController(valid);
    return (decision, emit) => emit(controller.process(decision));
  });
}
