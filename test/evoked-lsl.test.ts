import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { dataFile, PROJECT_ROOT } from './helpers/data.js';
import { testLslConfig } from './helpers/lsl.js';
import { until } from './helpers/ws-client.js';

/**
 * Both evoked pipelines live from their LSL configs (config/p300-lsl.json, config/ssvep-lsl.json):
 * `neurorx lsl send <Muse CSV>` publishes a recorded run as LSL signal + marker outlets over
 * loopback (a process of its own, like an amplifier's), and a session with the `lsl:` source
 * decodes it: ERP scores per flash, SSVEP decisions per window.
 */
const config = testLslConfig(17);
const env = { NEURORX_LSL_SCOPE: 'machine', NEURORX_LSL_PEERS: '127.0.0.1', NEURORX_LSL_MULTICAST_PORT: String(config.multicastPort), NEURORX_LSL_BASE_PORT: String(config.basePort) };
Object.assign(process.env, env);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function lslSend(file: string, name: string): void {
  const child: ChildProcess = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'lsl', 'send', `file:${file}`, '--name', name, '--speed', '2'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  cleanup.push(() => child.kill('SIGKILL'));
}

const P300 = dataFile('muse-visual/P300/subject1/session1/data_2017-02-04-15_47_49.csv');
const SSVEP = dataFile('muse-visual/SSVEP/subject1/session1/data_2017-09-14-21.20.04.csv');

/** Sends `file` over LSL as `stream` (and its markers as `<stream>-markers`) and starts config/<config> reading them. */
async function sessionOnLsl(file: string, stream: string, config: string): Promise<Session> {
  lslSend(file, stream);
  const c = await loadConfig(path.join(PROJECT_ROOT, 'config', config));
  c.source.uri = `lsl:name=${stream}?markers=name=${stream}-markers&timeout=20`;
  c.server.port = 0;
  const s = await startSession(c);
  cleanup.push(() => s.stop());
  return s;
}

describe('the evoked pipelines on a live LSL stream', () => {
  it.runIf(P300)(
    'config/p300-lsl.json scores the flashes of a Muse run sent over LSL',
    async () => {
      const s = await sessionOnLsl(P300!, 'nx-p300', 'p300-lsl.json');
      const scores: { marker: string; score: number | null }[] = [];
      s.attach({ broadcast: (m) => void (m.type === 'erp-score' && scores.push(m as unknown as { marker: string; score: number | null })) });
      await until(() => scores.length >= 10, 60_000);
      for (const x of scores) expect(['1', '2']).toContain(x.marker);
      expect(scores.some((x) => x.score !== null)).toBe(true);
    },
    90_000,
  );

  it.runIf(SSVEP)(
    'config/ssvep-lsl.json decides every window of a Muse run sent over LSL',
    async () => {
      const s = await sessionOnLsl(SSVEP!, 'nx-ssvep', 'ssvep-lsl.json');
      const labels: string[] = [];
      s.attach({ broadcast: (m) => void (m.type === 'decision' && labels.push((m as { label: string }).label)) });
      await until(() => labels.length >= 5, 60_000);
      for (const l of labels) expect(['30Hz', '20Hz', 'idle']).toContain(l);
    },
    90_000,
  );
});
