// The rules of neurorx lanes: each `command` moves the ship one lane left or right; each cue drops
// an orb into the lane on the cued side, so following the cues is how you score.
import type { CommandMessage, CueMessage, SessionState } from '../../src/client/protocol-types.js';

export const LANES = 5;
/** An orb's way from the top to the ship's row, s. */
export const FALL_SECONDS = 5;
/** The ship's row, as a fraction of the field's height. */
export const SHIP_Y = 0.86;
/** Without cues, an orb this often (s). */
const IDLE_SPAWN_SECONDS = 10;
const SPARK_MS = 700;

/** Read by tests (`window.__game`): the ship's lane, every move (with the command that caused it) and every command. */
export interface Game {
  x: number;
  moves: { seq: number; command: string; from: number; to: number; at: number }[];
  commands: { seq: number; command: string; label: string; timestamp: number }[];
  score: number;
  missed: number;
  state: SessionState | 'connecting' | 'disconnected';
  connected: boolean;
}

export interface Orb {
  lane: number;
  /** performance.now() when it appeared. */
  born: number;
  fromCue: boolean;
  /** Caught or missed already. */
  done?: boolean;
}

/** A ring where an orb was caught (good) or missed. */
export interface Spark {
  x: number;
  y: number;
  born: number;
  good: boolean;
}

/** What is drawn besides the game's own state. */
export interface View {
  /** The ship's drawn lane, easing towards game.x. */
  shipX: number;
  orbs: Orb[];
  sparks: Spark[];
  cue: { label: string; at: number } | null;
  lastSpawn: number;
}

export function newGame(): { game: Game; view: View } {
  const x = Math.floor(LANES / 2);
  return {
    game: { x, moves: [], commands: [], score: 0, missed: 0, state: 'connecting', connected: false },
    view: { shipX: x, orbs: [], sparks: [], cue: null, lastSpawn: performance.now() },
  };
}

/** -1 (left), 1 (right) or 0, from a command's name or else its class. */
export function direction(command: string, label: string): number {
  const name = command.toLowerCase();
  if (name === 'left') return -1;
  if (name === 'right') return 1;
  const cls = label.toLowerCase();
  return cls === 'left' ? -1 : cls === 'right' ? 1 : 0;
}

export function onCommand(game: Game, m: CommandMessage): void {
  game.commands.push({ seq: m.seq, command: m.command, label: m.label, timestamp: m.timestamp });
  const dir = direction(m.command, m.label);
  const to = Math.max(0, Math.min(LANES - 1, game.x + dir));
  if (to !== game.x) {
    game.moves.push({ seq: m.seq, command: m.command, from: game.x, to, at: Date.now() });
    game.x = to;
  }
}

function spawn(view: View, lane: number, fromCue: boolean): void {
  view.orbs.push({ lane, born: performance.now(), fromCue });
  view.lastSpawn = performance.now();
}

export function onCue(game: Game, view: View, m: CueMessage): void {
  view.cue = { label: m.label, at: performance.now() };
  const dir = direction(m.label, m.label);
  // the orb falls one lane towards the cued side (into the ship's own lane when it is at that edge)
  spawn(view, Math.max(0, Math.min(LANES - 1, game.x + dir)), true);
}

/** Advances to `now` (ms): eases the ship, drops idle orbs, scores the orbs reaching the ship's row. Returns whether the score changed. */
export function step(game: Game, view: View, now: number): boolean {
  let scored = false;
  view.shipX += (game.x - view.shipX) * 0.2;
  if (Math.abs(game.x - view.shipX) < 0.001) view.shipX = game.x;
  if (game.state === 'running' && now - view.lastSpawn > IDLE_SPAWN_SECONDS * 1000 && view.orbs.length === 0) spawn(view, Math.floor(Math.random() * LANES), false);
  const keep: Orb[] = [];
  for (const orb of view.orbs) {
    const y = (now - orb.born) / (FALL_SECONDS * 1000);
    if (y >= SHIP_Y && !orb.done) {
      orb.done = true;
      const caught = orb.lane === game.x;
      if (caught) game.score++;
      else game.missed++;
      view.sparks.push({ x: orb.lane, y: SHIP_Y, born: now, good: caught });
      scored = true;
      if (caught) continue;
    }
    if (y < 1.05) keep.push(orb);
  }
  view.orbs = keep;
  view.sparks = view.sparks.filter((s) => now - s.born < SPARK_MS);
  return scored;
}
