// neurorx lanes: a small canvas game steered by motor-imagery commands, served by the neurorx
// server at /game. It talks to the session that served it through the client library
// (src/client: reconnection, message types), with ?token= when the page's address has one. The
// live class probabilities are shown as a bar under the field.
import { NeurorxClient } from '../../src/client/neurorx-client.js';
import { pageServer } from '../../src/client/page-server.js';
import { Field } from './field.js';
import { newGame, onCommand, onCue, step, type Game } from './lanes.js';
import { ProbabilityBar } from './probability-bar.js';

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`lanes: the page has no #${id}`);
  return e as T;
};

const { game, view } = newGame();
(window as unknown as { __game: Game }).__game = game;

const field = new Field(byId<HTMLCanvasElement>('game'));
const probs = new ProbabilityBar(byId('probs'));
const badge = byId('state');
const detail = byId('detail');
const score = byId('score');

function updateScore(): void {
  score.textContent = `score ${game.score} · missed ${game.missed} · commands ${game.commands.length}`;
}

function setState(state: Game['state'], text?: string): void {
  game.state = state;
  badge.textContent = state;
  badge.dataset.state = state;
  if (text !== undefined) detail.textContent = text;
}

const client = new NeurorxClient();
client.on('hello', (m) => {
  game.connected = true;
  setState(m.state, `${m.pipeline.name} · ${m.stream.channels.length} ch @ ${m.stream.sampleRate} Hz`);
});
client.on('status', (m) => {
  const trials = m.trials
    ? ` (${Object.entries(m.trials)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ')})`
    : '';
  setState(m.state, `${m.detail}${trials}`);
});
client.on('decision', (m) => probs.show(m.smoothed ?? m.probabilities));
client.on('command', (m) => {
  onCommand(game, m);
  updateScore();
});
client.on('cue', (m) => onCue(game, view, m));
client.on('error', (e) => (detail.textContent = `error: ${e.message}`));
client.on('close', () => {
  game.connected = false;
  setState('disconnected');
});

function frame(now: number): void {
  if (step(game, view, now)) updateScore();
  field.draw(game, view, now);
  requestAnimationFrame(frame);
}

const { url, token } = pageServer(location);
updateScore();
// Retries until the server answers (close() is never called): this promise does not reject.
void client.connect(url, { ...(token ? { token } : {}), reconnect: { initialDelayMs: 500, maxDelayMs: 5000 } });
requestAnimationFrame(frame);
