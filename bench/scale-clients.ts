import { WebSocket } from 'ws';

/**
 * The WebSocket clients of bench:scale's gateway figure, in a child process of their own (so that
 * receiving does not share the gateway's thread): `K` clients of one session, each checking that
 * it gets decisions seq 0, 1, 2, ... of every round, none missing and none out of order. Steered
 * over the IPC channel: {round, last} starts a round whose decisions end at seq `last`; the
 * process answers {type:'done', ...} once every client has it (or {type:'report'} on request).
 *
 *   node dist/bench/scale-clients.js <ws url> <K>
 */

interface ClientState {
  next: number;
  received: number;
  broken: boolean;
}

const [url, kRaw] = process.argv.slice(2);
const k = Number(kRaw);
if (!url || !Number.isInteger(k) || k < 1 || !process.send) {
  console.error('usage (as a forked child): scale-clients.js <ws url> <clients>');
  process.exit(2);
}
const send = (m: unknown): void => void process.send!(m);

const clients: ClientState[] = [];
let last = -1;
let waiting = 0;
let received = 0;

/** The decision's seq, read without parsing the whole message (this process must keep up with K times the gateway's rate). */
const SEQ = /"type":"decision","seq":(\d+)/;

function onMessage(state: ClientState, data: Buffer | string): void {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  const m = SEQ.exec(text);
  if (!m) return;
  const seq = Number(m[1]);
  received++;
  state.received++;
  if (seq !== state.next) state.broken = true;
  state.next = seq + 1;
  if (seq === last && --waiting === 0) report('done');
}

function report(type: 'done' | 'report'): void {
  send({ type, clients: clients.length, complete: clients.filter((c) => !c.broken && c.next === last + 1).length, received });
}

async function connectAll(): Promise<void> {
  const batch = 50;
  for (let i = 0; i < k; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, k - i) }, () => {
        const state: ClientState = { next: 0, received: 0, broken: false };
        return new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.once('error', reject);
          // Open, then the hello: from now on it gets every broadcast.
          ws.once('message', () => {
            clients.push(state);
            ws.on('message', (d: Buffer) => onMessage(state, d));
            resolve();
          });
        });
      }),
    );
  }
}

process.on('message', (m: { type: 'round'; last: number } | { type: 'report' } | { type: 'exit' }) => {
  if (m.type === 'round') {
    last = m.last;
    received = 0;
    waiting = clients.length;
    for (const c of clients) {
      c.next = 0;
      c.received = 0;
      c.broken = false;
    }
    send({ type: 'ready' });
  } else if (m.type === 'report') report('report');
  else process.exit(0);
});

connectAll().then(
  () => send({ type: 'connected', clients: clients.length }),
  (e: Error) => {
    send({ type: 'failed', error: e.message });
    process.exit(1);
  },
);
