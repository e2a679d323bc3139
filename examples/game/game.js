// neurorx lanes: a small canvas game steered by motor-imagery commands. A plain browser ES module
// served by the neurorx server at /game; it connects to the same host's WebSocket (with ?token=
// when the page has one). Each `command` message moves the ship one lane left or right; each cue
// drops an orb into the lane on the cued side, so following the cues is how you score. The live
// class probabilities are shown as a bar under the field.

const LANES = 5;
const FALL_SECONDS = 5; // an orb's way from the top to the ship's row
const SHIP_Y = 0.86; // fraction of the field's height
const IDLE_SPAWN_SECONDS = 10; // without cues, an orb this often
const CLASS_COLORS = { left: '#3d8bfd', right: '#f0883e' };
const OTHER_COLORS = ['#3fb950', '#d2a8ff', '#f778ba', '#56d4dd'];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

/** Read by tests: the ship's lane, every move (with the command that caused it) and every command. */
const game = {
  x: Math.floor(LANES / 2),
  moves: [],
  commands: [],
  score: 0,
  missed: 0,
  state: 'connecting',
  connected: false,
};
window.__game = game;

const view = {
  shipX: game.x, // drawn position, eases towards game.x
  orbs: [], // { lane, born, fromCue }
  sparks: [], // { x, y, born, good }
  cue: null, // { label, at }
  probs: null,
  classes: [],
  lastSpawn: performance.now(),
  stars: Array.from({ length: 70 }, () => ({ x: Math.random(), y: Math.random(), s: 0.3 + Math.random() * 0.7 })),
};

// ---------------------------------------------------------------------------------------------
// Rules

function direction(command, label) {
  const name = `${command}`.toLowerCase();
  if (name === 'left') return -1;
  if (name === 'right') return 1;
  const cls = `${label}`.toLowerCase();
  return cls === 'left' ? -1 : cls === 'right' ? 1 : 0;
}

function onCommand(m) {
  game.commands.push({ seq: m.seq, command: m.command, label: m.label, timestamp: m.timestamp });
  const dir = direction(m.command, m.label);
  const to = Math.max(0, Math.min(LANES - 1, game.x + dir));
  if (to !== game.x) {
    game.moves.push({ seq: m.seq, command: m.command, from: game.x, to, at: Date.now() });
    game.x = to;
  }
}

function spawn(lane, fromCue) {
  view.orbs.push({ lane, born: performance.now(), fromCue });
  view.lastSpawn = performance.now();
}

function onCue(m) {
  view.cue = { label: m.label, at: performance.now() };
  const dir = direction(m.label, m.label);
  // the orb falls one lane towards the cued side (into the ship's own lane when it is at that edge)
  const lane = Math.max(0, Math.min(LANES - 1, game.x + dir));
  spawn(lane, true);
}

function step(now) {
  view.shipX += (game.x - view.shipX) * 0.2;
  if (Math.abs(game.x - view.shipX) < 0.001) view.shipX = game.x;
  if (game.state === 'running' && now - view.lastSpawn > IDLE_SPAWN_SECONDS * 1000 && view.orbs.length === 0) spawn(Math.floor(Math.random() * LANES), false);
  const keep = [];
  for (const orb of view.orbs) {
    const y = (now - orb.born) / (FALL_SECONDS * 1000);
    if (y >= SHIP_Y && !orb.done) {
      orb.done = true;
      const caught = orb.lane === game.x;
      if (caught) game.score++;
      else game.missed++;
      view.sparks.push({ x: orb.lane, y: SHIP_Y, born: now, good: caught });
      updateScore();
      if (caught) continue;
    }
    if (y < 1.05) keep.push(orb);
  }
  view.orbs = keep;
  view.sparks = view.sparks.filter((s) => now - s.born < 700);
}

function updateScore() {
  $('score').textContent = `score ${game.score} · missed ${game.missed} · commands ${game.commands.length}`;
}

// ---------------------------------------------------------------------------------------------
// Drawing

const canvas = $('game');
const ctx = canvas.getContext('2d');

function fit() {
  const r = canvas.getBoundingClientRect();
  const pr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * pr));
  const h = Math.max(1, Math.round(r.height * pr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  return { w, h, pr };
}

function draw(now) {
  const { w, h, pr } = fit();
  const laneW = w / LANES;
  const laneX = (lane) => (lane + 0.5) * laneW;
  ctx.clearRect(0, 0, w, h);

  // stars drifting down
  ctx.fillStyle = '#ffffff';
  for (const s of view.stars) {
    const y = ((s.y + (now / 1000) * 0.02 * s.s) % 1) * h;
    ctx.globalAlpha = 0.15 + 0.35 * s.s;
    ctx.fillRect(s.x * w, y, 1.5 * pr * s.s, 1.5 * pr * s.s);
  }
  ctx.globalAlpha = 1;

  // lanes
  ctx.strokeStyle = '#1d2633';
  ctx.lineWidth = pr;
  ctx.setLineDash([8 * pr, 10 * pr]);
  ctx.beginPath();
  for (let i = 1; i < LANES; i++) {
    ctx.moveTo(i * laneW, 0);
    ctx.lineTo(i * laneW, h);
  }
  ctx.stroke();
  ctx.setLineDash([]);

  // cue: an arrow and the word, fading out over 4 s
  if (view.cue) {
    const age = (now - view.cue.at) / 4000;
    if (age < 1) {
      const dir = direction(view.cue.label, view.cue.label);
      ctx.globalAlpha = 1 - age;
      ctx.fillStyle = CLASS_COLORS[view.cue.label] ?? '#d2a8ff';
      ctx.font = `700 ${28 * pr}px system-ui, sans-serif`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      const arrow = dir < 0 ? '\u2190 ' : '';
      const arrowR = dir > 0 ? ' \u2192' : '';
      ctx.fillText(`${arrow}imagine ${view.cue.label.toUpperCase()}${arrowR}`, w / 2, h * 0.12);
      ctx.globalAlpha = 1;
    }
  }

  // orbs
  for (const orb of view.orbs) {
    const y = ((now - orb.born) / (FALL_SECONDS * 1000)) * h;
    const x = laneX(orb.lane);
    const r = Math.min(laneW * 0.22, 18 * pr);
    const g = ctx.createRadialGradient(x, y, r * 0.1, x, y, r * 1.8);
    g.addColorStop(0, orb.fromCue ? '#fff4c2' : '#c9f7ff');
    g.addColorStop(0.45, orb.fromCue ? '#f0c24b' : '#4fc1c9');
    g.addColorStop(1, 'rgba(0,0,0,0)');
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.arc(x, y, r * 1.8, 0, Math.PI * 2);
    ctx.fill();
  }

  // ship
  const sx = laneX(view.shipX);
  const sy = SHIP_Y * h;
  const s = Math.min(laneW * 0.28, 30 * pr);
  ctx.fillStyle = '#e4e8ee';
  ctx.strokeStyle = '#3d8bfd';
  ctx.lineWidth = 2 * pr;
  ctx.beginPath();
  ctx.moveTo(sx, sy - s);
  ctx.lineTo(sx + s * 0.8, sy + s * 0.7);
  ctx.lineTo(sx, sy + s * 0.35);
  ctx.lineTo(sx - s * 0.8, sy + s * 0.7);
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = '#f0883e';
  ctx.globalAlpha = 0.6 + 0.4 * Math.sin(now / 60);
  ctx.beginPath();
  ctx.moveTo(sx - s * 0.25, sy + s * 0.5);
  ctx.lineTo(sx, sy + s * (0.9 + 0.2 * Math.sin(now / 45)));
  ctx.lineTo(sx + s * 0.25, sy + s * 0.5);
  ctx.fill();
  ctx.globalAlpha = 1;

  // catches and misses
  for (const sp of view.sparks) {
    const age = (now - sp.born) / 700;
    ctx.globalAlpha = 1 - age;
    ctx.strokeStyle = sp.good ? '#3fb950' : '#e5534b';
    ctx.lineWidth = 3 * pr;
    ctx.beginPath();
    ctx.arc(laneX(sp.x), sp.y * h, (10 + 40 * age) * pr, 0, Math.PI * 2);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;

  // paused / calibrating / offline banner
  const banner = !game.connected ? 'connecting…' : game.state === 'running' ? '' : game.state === 'calibrating' ? 'calibrating: follow the cues' : game.state;
  if (banner) {
    ctx.fillStyle = '#000000aa';
    ctx.fillRect(0, h * 0.45, w, h * 0.1);
    ctx.fillStyle = '#e4e8ee';
    ctx.font = `600 ${18 * pr}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(banner, w / 2, h * 0.5);
  }
}

function frame(now) {
  step(now);
  draw(now);
  requestAnimationFrame(frame);
}

// probability bar (DOM, updated at most once per animation frame)
let probsQueued = false;
function showProbabilities(probs) {
  view.probs = probs;
  if (probsQueued) return;
  probsQueued = true;
  requestAnimationFrame(() => {
    probsQueued = false;
    const box = $('probs');
    const classes = Object.keys(view.probs);
    if (box.childElementCount !== classes.length || view.classes.join() !== classes.join()) {
      view.classes = classes;
      box.textContent = '';
      classes.forEach((c, i) => {
        const d = document.createElement('div');
        d.style.background = CLASS_COLORS[c] ?? OTHER_COLORS[i % OTHER_COLORS.length];
        d.style.justifyContent = i === classes.length - 1 && i > 0 ? 'flex-end' : 'flex-start';
        box.append(d);
      });
    }
    classes.forEach((c, i) => {
      const p = view.probs[c] ?? 0;
      const d = box.children[i];
      d.style.width = `${(p * 100).toFixed(1)}%`;
      d.textContent = `${c} ${(p * 100).toFixed(0)}%`;
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Connection

function setState(state, detail) {
  game.state = state;
  const badge = $('state');
  badge.textContent = state;
  badge.dataset.state = state;
  if (detail !== undefined) $('detail').textContent = detail;
}

function handle(m) {
  switch (m.type) {
    case 'hello':
      setState(m.state, `${m.pipeline.name} · ${m.stream.channels.length} ch @ ${m.stream.sampleRate} Hz`);
      break;
    case 'status': {
      const trials = m.trials ? ` (${Object.entries(m.trials).map(([k, v]) => `${k} ${v}`).join(' · ')})` : '';
      setState(m.state, `${m.detail}${trials}`);
      break;
    }
    case 'decision':
      showProbabilities(m.smoothed ?? m.probabilities);
      break;
    case 'command':
      onCommand(m);
      updateScore();
      break;
    case 'cue':
      onCue(m);
      break;
    case 'error':
      $('detail').textContent = `error: ${m.message}`;
      break;
    default:
      break;
  }
}

let retryMs = 500;
let socket = null;
function connect() {
  const token = params.get('token');
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  socket = ws;
  ws.onopen = () => {
    retryMs = 500;
    game.connected = true;
  };
  ws.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (m && typeof m.type === 'string') handle(m);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    game.connected = false;
    setState('disconnected');
    setTimeout(connect, retryMs);
    retryMs = Math.min(5000, retryMs * 2);
  };
  ws.onerror = () => {};
}

updateScore();
connect();
requestAnimationFrame(frame);
