/**
 * Soak test: a real session end to end for N minutes, with the faults of a long day.
 *
 * `neurorx run` (a child process) reads a simulated OpenBCI Cyton (`neurorx serial simulate`,
 * another child) over a socat pseudo-terminal pair, runs the motor-imagery pipeline of
 * config/default.json on its 8 channels at 250 Hz (calibrated on a synthetic recording with the
 * same channels and rate) and serves several WebSocket clients subscribed to every topic: one
 * controller sending cue markers every 4 s, pause/resume and now and then a calibration from the
 * live stream (3 trials per class, cued by those markers); one sending other markers every second;
 * listeners; and one slow reader whose socket is paused but for a 1-s read every 20 s (its
 * drops, if the server must drop, are expected and reported separately; on loopback the kernel's
 * socket buffers absorb megabytes before the server queues anything). Every few minutes the serial link is
 * cut (socat killed: the port vanishes, as a USB dongle pulled out, the simulator with it) and
 * brought back after some seconds.
 *
 * Reported per minute: the server's RSS (/proc/<pid>/status VmRSS) and heap used (from a probe
 * loaded into it), decision latency p50/p99 from the decisions' latencyMs and from their arrival
 * at the clients (host clock minus the window's last sample time), decisions received per client,
 * messages dropped (the stats messages' messagesDropped), samples the session reported lost
 * (stats.samplesDropped) and loss messages, serial log lines and reconnects. At the end a verdict:
 * - memory flat: the least-squares slope of RSS over the second half of the run below
 *   --max-rss-slope MB/min (default 1; the first half is warm-up);
 * - no loss beyond the deliberate outages: every outage reported (lost samples at least 90% of its
 *   length at 250 Hz) and decisions flowing again after it; no other gap or loss reported; no
 *   decision missing at a client that read in time (its sequence numbers, pauses and pipeline
 *   restarts aside), no message dropped for one, no disconnect or error; every decision the slow
 *   client missed counted in its messagesDropped; the server alive to the end and exiting 0.
 * The last stdout line is the JSON summary; exit 1 on a failed verdict.
 *
 *   npm run soak -- --minutes 10      (needs socat: apt-get install socat)
 *   options: --clients N (fast clients, default 3), --outage-every M (minutes, 3),
 *   --outage-seconds S (5), --outages unplug,board (kinds taken in turn; "board": only the
 *   simulator restarts, the port stays open and silent), --calibrate-every M (minutes, 4),
 *   --pause-every S (seconds, 60), --max-rss-slope MB/min (1), --slow-pause S (the slow client's
 *   pauses, 20), --verbose (the whole session log, commands too),
 *   --keep (keep the temporary folder: config, pty links)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CYTON_MOTOR_LABELS } from '../devices/serial/simulator-signal.js';
import { parseConfig } from '../src/config/config-schema.js';
import { projectRoot } from '../src/util/project-path.js';
import { ChildGuard, stopChild } from './child-guard.js';
import { SoakClient, type ClientRole, type LossNotice } from './soak-client.js';
import { formatRow, percentile, slope, TABLE_HEADER, type MinuteRow } from './soak-report.js';
import { ServerProcess, SimulatedBoard, type OutageKind } from './soak-rig.js';

interface Options {
  minutes: number;
  clients: number;
  outageEvery: number;
  outageSeconds: number;
  outages: OutageKind[];
  calibrateEvery: number;
  pauseEvery: number;
  maxRssSlope: number;
  slowPause: number;
  verbose: boolean;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { minutes: 10, clients: 3, outageEvery: 3, outageSeconds: 5, outages: ['unplug'], calibrateEvery: 4, pauseEvery: 60, maxRssSlope: 1, slowPause: 20, verbose: false, keep: false };
  const numeric: Record<string, keyof Options> = {
    '--minutes': 'minutes',
    '--clients': 'clients',
    '--outage-every': 'outageEvery',
    '--outage-seconds': 'outageSeconds',
    '--calibrate-every': 'calibrateEvery',
    '--pause-every': 'pauseEvery',
    '--max-rss-slope': 'maxRssSlope',
    '--slow-pause': 'slowPause',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a === '--verbose' || a === '--keep') o[a.slice(2) as 'verbose' | 'keep'] = true;
    else if (a === '--outages') {
      o.outages = (argv[++i] ?? '').split(',').map((k) => k.trim()) as OutageKind[];
      const bad = o.outages.filter((k) => k !== 'unplug' && k !== 'board');
      if (bad.length > 0 || o.outages.length === 0) throw new Error(`--outages: "${bad.join(',')}" is not a kind of outage (unplug, board)`);
    } else if (a in numeric) {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new Error(`${a} needs a positive number, got "${argv[i] ?? ''}"`);
      (o as unknown as Record<string, number>)[numeric[a]] = n;
    } else throw new Error(`unknown option "${a}"`);
  }
  if (o.clients < 2) throw new Error('--clients: at least 2 fast clients (a controller and a marker sender)');
  return o;
}

interface Outage {
  n: number;
  kind: OutageKind;
  /** Seconds into the soak: when the link was cut, and when it was back (host end visible again). */
  at: number;
  restoredAt: number | null;
  /** Samples the stats messages reported lost, and what the loss messages said, after the cut. */
  reportedSamples: number;
  notices: string[];
  noticeSamples: number;
  /** Seconds after the restore: the first report of the gap, the first decision. */
  reportedAfter: number | null;
  decisionsAfter: number | null;
}

/** Seconds after a restore within which a report of the gap still belongs to that outage. */
const ATTRIBUTION_SECONDS = 60;
const RSS_EVERY_SECONDS = 5;

let shutdown: () => Promise<void> = async () => {};
const guard = new ChildGuard(() => shutdown());

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const cli = { node: process.execPath, main: path.join(root, 'dist', 'src', 'cli', 'main.js') };
  const probe = path.join(root, 'dist', 'bench', 'soak-probe.js');
  for (const f of [cli.main, probe]) if (!existsSync(f)) throw new Error(`${f} is missing: build first (npm run soak builds)`);
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0) throw new Error('socat is missing: apt-get install socat');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-soak-'));
  const total = o.minutes * 60;
  const log = (line: string): void => void process.stderr.write(line + '\n');

  const board = new SimulatedBoard(guard, cli, dir);
  // eslint-disable-next-line prefer-const -- shutdown (a signal may call it before the server starts) reads it: a const would be in its TDZ
  let server: ServerProcess | undefined;
  let clients: SoakClient[] = [];
  shutdown = async () => {
    for (const c of clients) c.close();
    if (server) await stopChild(server.child);
    await board.stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };

  // The session's log: counted per minute, shown in part.
  const minuteCounts = { serialLog: 0, gapSamples: 0, lossNotices: 0, reconnects: 0, events: [] as string[] };
  const serverErrors: string[] = [];
  const logTail: string[] = [];
  // Seconds into the soak, from the moment the server is ready.
  let t0 = 0;
  const now = (): number => (t0 === 0 ? 0 : (performance.now() - t0) / 1000);
  const onServerLog = (line: string): void => {
    logTail.push(line);
    if (logTail.length > 40) logTail.shift();
    if (/^serial\b/.test(line)) minuteCounts.serialLog++;
    if (/pipeline error|uncaught|unhandled/i.test(line) && serverErrors.length < 20) serverErrors.push(line);
    if (o.verbose || !/^command /.test(line)) log(`  [server ${now().toFixed(0)} s] ${line}`);
  };

  await board.up();
  const base = JSON.parse(readFileSync(path.join(root, 'config', 'default.json'), 'utf8')) as { pipeline: Record<string, unknown> };
  const configFile = path.join(dir, 'soak.json');
  const rate = 250;
  const config = {
    name: 'soak: simulated OpenBCI Cyton over a pty pair',
    source: { uri: `serial:cyton:${board.hostPath}?labels=${CYTON_MOTOR_LABELS.join(',')}` },
    pipeline: { ...base.pipeline, channels: CYTON_MOTOR_LABELS, calibration: { from: 'recording', source: `synthetic:motor-imagery?seed=1&trials=40&rate=${rate}` } },
    server: { host: '127.0.0.1', port: 0 },
  };
  parseConfig(config, 'soak config');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  server = await ServerProcess.start(guard, cli, configFile, pathToFileURL(probe).href, onServerLog);
  const theServer = server;
  t0 = performance.now();
  let serverGone: string | undefined;
  theServer.child.once('exit', (code, signal) => (serverGone = `the server exited early (${code ?? signal})`));

  const roles: ClientRole[] = ['controller', 'marker', ...Array<ClientRole>(o.clients - 2).fill('listener'), 'slow'];
  clients = roles.map((role, k) => new SoakClient(role === 'slow' ? 'slow' : `${role}${role === 'listener' ? k - 1 : ''}`, role, theServer.url, { pauseMs: o.slowPause * 1000, readMs: 1000 }));
  await Promise.all(clients.map((c) => c.connect()));
  const fast = clients.filter((c) => c.role !== 'slow');
  const slow = clients.find((c) => c.role === 'slow')!;
  const [controller, marker] = fast;
  log(`soak: ${o.minutes} min, server pid ${theServer.pid} at ${theServer.url}, pty ${board.hostPath}`);
  console.log(`clients (decisions per client, in this order): ${clients.map((c) => c.name).join(', ')}`);

  // Outages: reports of lost samples (stats) or loss messages are charged to the outage in progress or just restored.
  const outages: Outage[] = [];
  let unexplainedSamples = 0;
  const unexplainedNotices: string[] = [];
  const outageNow = (): Outage | undefined => {
    const last = outages.at(-1);
    return last && (last.restoredAt === null || now() - last.restoredAt <= ATTRIBUTION_SECONDS) ? last : undefined;
  };
  const reported = (out: Outage): void => {
    if (out.restoredAt !== null && out.reportedAfter === null) out.reportedAfter = now() - out.restoredAt;
  };
  let lastDropped = 0;
  controller.onSamplesDropped = (totalDropped) => {
    const delta = totalDropped - lastDropped;
    lastDropped = totalDropped;
    minuteCounts.gapSamples += delta;
    const out = outageNow();
    if (!out) return void (unexplainedSamples += delta);
    if (out.reportedSamples === 0) minuteCounts.reconnects++;
    out.reportedSamples += delta;
    reported(out);
  };
  controller.onLoss = (notice: LossNotice) => {
    minuteCounts.lossNotices++;
    const out = outageNow();
    if (!out) return void (unexplainedNotices.length < 20 && unexplainedNotices.push(notice.text));
    if (out.notices.length < 5) out.notices.push(notice.text);
    out.noticeSamples += notice.samples ?? 0;
    reported(out);
  };
  controller.onDecision = () => {
    for (const out of outages) if (out.restoredAt !== null && out.decisionsAfter === null) out.decisionsAfter = now() - out.restoredAt;
  };

  const cutLink = async (): Promise<void> => {
    const kind = o.outages[outages.length % o.outages.length];
    const out: Outage = { n: outages.length + 1, kind, at: now(), restoredAt: null, reportedSamples: 0, notices: [], noticeSamples: 0, reportedAfter: null, decisionsAfter: null };
    outages.push(out);
    minuteCounts.events.push(`outage ${out.n} (${kind}, ${o.outageSeconds} s)`);
    await board.down(kind);
    await new Promise((r) => setTimeout(r, o.outageSeconds * 1000));
    await board.up();
    out.restoredAt = now();
    minuteCounts.events.push(`link ${out.n} back after ${(out.restoredAt - out.at).toFixed(1)} s`);
  };

  // Schedule (seconds into the soak); nothing starts too late to finish before the end.
  let nextOutage = 40;
  let nextCalibration = 70;
  let nextPause = 20;
  let nextCue = 4;
  let nextRss = 0;
  let cue = 0;
  let note = 0;
  let outageRun: Promise<void> | undefined;
  const rssPoints: { x: number; y: number }[] = [];
  const heapPoints: { x: number; y: number }[] = [];
  const latencies: number[] = [];
  const arrivals: number[] = [];
  const rows: MinuteRow[] = [];
  let rssMax: number | null = null;
  let elapsed = now();
  console.log(TABLE_HEADER);
  for (let minute = 1; elapsed < total && !serverGone;) {
    await new Promise((r) => setTimeout(r, 1000 - ((performance.now() - t0) % 1000)));
    elapsed = now();
    marker.send({ type: 'marker', value: `soak note ${++note}` });
    if (elapsed >= nextCue) {
      controller.send({ type: 'marker', value: cue++ % 2 === 0 ? 'left' : 'right' });
      nextCue += 4;
    }
    if (elapsed >= nextPause) {
      nextPause += o.pauseEvery;
      if (elapsed + 3 < total - 5) {
        controller.send({ type: 'pause' });
        setTimeout(() => controller.send({ type: 'resume' }), 3000);
        minuteCounts.events.push('pause 3 s');
      }
    }
    if (elapsed >= nextCalibration) {
      nextCalibration += o.calibrateEvery * 60;
      if (elapsed + 45 < total) {
        controller.send({ type: 'calibration', action: 'start', trialsPerClass: 3 });
        minuteCounts.events.push('calibration start');
      }
    }
    if (elapsed >= nextOutage && !outageRun) {
      nextOutage += o.outageEvery * 60;
      if (elapsed + o.outageSeconds + 30 < total) outageRun = cutLink().finally(() => (outageRun = undefined));
    }
    if (elapsed >= nextRss) {
      nextRss += RSS_EVERY_SECONDS;
      const rss = theServer.rssMB();
      if (rss !== undefined) {
        rssPoints.push({ x: elapsed / 60, y: rss });
        rssMax = Math.max(rssMax ?? 0, rss);
      }
      if (theServer.heap) heapPoints.push({ x: elapsed / 60, y: theServer.heap.heapUsed / 2 ** 20 });
    }
    if (elapsed >= minute * 60 || elapsed >= total) {
      const perClient = clients.map((c) => c.takeMinute());
      const lat = perClient[0].latencyMs;
      const arr = perClient.filter((_, k) => clients[k].role !== 'slow').flatMap((m) => m.arrivalMs);
      latencies.push(...lat);
      arrivals.push(...arr);
      const row: MinuteRow = {
        minute,
        rssMB: rssPoints.at(-1)?.y ?? null,
        rssMaxMB: rssMax,
        heapUsedMB: heapPoints.at(-1)?.y ?? null,
        latencyMs: { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) },
        arrivalMs: { p50: percentile(arr, 0.5), p99: percentile(arr, 0.99) },
        decisions: perClient.map((m) => m.decisions),
        messagesDropped: { fast: fast.reduce((s, c) => s + c.messagesDropped, 0), slow: slow.messagesDropped },
        ...minuteCounts,
        events: [...minuteCounts.events],
      };
      rows.push(row);
      console.log(formatRow(row));
      Object.assign(minuteCounts, { serialLog: 0, gapSamples: 0, lossNotices: 0, reconnects: 0, events: [] });
      rssMax = null;
      minute++;
    }
  }
  await outageRun;
  const wasAlive = !serverGone;
  const ran = now();
  for (const c of clients) c.close();
  const exit = await stopChild(theServer.child);
  await shutdown();

  // Verdict.
  const failures: string[] = [];
  if (!wasAlive) failures.push(serverGone!);
  else if (exit !== 0) failures.push(`the server did not exit cleanly on SIGTERM (${exit})`);
  for (const e of serverErrors) failures.push(`session log: ${e}`);
  const warm = rssPoints.filter((p) => p.x >= o.minutes / 2);
  const rssSlope = slope(warm);
  const heapSlope = slope(heapPoints.filter((p) => p.x >= o.minutes / 2));
  if (rssSlope === null) failures.push('too few RSS samples for a slope');
  else if (rssSlope >= o.maxRssSlope) failures.push(`RSS grows ${rssSlope.toFixed(2)} MB/min over the second half (limit ${o.maxRssSlope})`);
  for (const c of fast) {
    if (c.decisions === 0) failures.push(`${c.name} received no decision`);
    if (c.lostDecisions > 0) failures.push(`${c.name} lost ${c.lostDecisions} decision(s)`);
    if (c.messagesDropped > 0) failures.push(`${c.name}: the server dropped ${c.messagesDropped} message(s)`);
    if (c.disconnects + c.errors > 0) failures.push(`${c.name}: ${c.disconnects} disconnect(s), ${c.errors} error message(s): ${c.reasons.join('; ')}`);
  }
  if (slow.lostDecisions > slow.messagesDropped) failures.push(`the slow client missed ${slow.lostDecisions} decisions but only ${slow.messagesDropped} dropped messages were reported`);
  for (const out of outages) {
    const expected = out.restoredAt === null ? 0 : Math.round((out.restoredAt - out.at) * rate);
    const said = Math.max(out.reportedSamples, out.noticeSamples);
    if (said === 0 && out.notices.length === 0) failures.push(`outage ${out.n} (${out.kind}) was not reported`);
    else if (said < 0.9 * expected) failures.push(`outage ${out.n} (${out.kind}) reported as ${said} lost samples, but the link was down ${expected} samples`);
    if (out.decisionsAfter === null) failures.push(`no decision after outage ${out.n} (${out.kind})`);
  }
  if (unexplainedSamples > 0) failures.push(`${unexplainedSamples} samples lost outside the deliberate outages`);
  for (const n of unexplainedNotices) failures.push(`a loss reported outside the deliberate outages: ${n}`);

  const q = (v: number[], p: number): number | null => percentile(v, p);
  const summary = {
    verdict: failures.length === 0 ? 'pass' : 'fail',
    failures,
    minutes: o.minutes,
    memory: {
      rssStartMB: rssPoints[0]?.y ?? null,
      rssEndMB: rssPoints.at(-1)?.y ?? null,
      rssSlopeMBPerMin: rssSlope,
      heapSlopeMBPerMin: heapSlope,
      maxRssSlopeMBPerMin: o.maxRssSlope,
      slopeOver: 'second half of the run',
    },
    latencyMs: { p50: q(latencies, 0.5), p99: q(latencies, 0.99) },
    arrivalMs: { p50: q(arrivals, 0.5), p99: q(arrivals, 0.99) },
    clients: clients.map((c) => ({
      name: c.name,
      role: c.role,
      kBPerSecond: Math.round(c.bytes / 1024 / ran),
      decisions: c.decisions,
      lostDecisions: c.lostDecisions,
      messagesDropped: c.messagesDropped,
      disconnects: c.disconnects,
      errors: c.errors,
      reasons: c.reasons,
    })),
    outages,
    samplesDropped: controller.samplesDropped,
    unexplainedSamples,
    unexplainedNotices,
    serverExit: exit,
    perMinute: rows,
  };
  console.log(`\nverdict: ${summary.verdict.toUpperCase()}`);
  console.log(
    `  memory: RSS ${summary.memory.rssStartMB?.toFixed(1)} -> ${summary.memory.rssEndMB?.toFixed(1)} MB, slope over the second half ${rssSlope?.toFixed(2) ?? '-'} MB/min (limit ${o.maxRssSlope}), heap ${heapSlope?.toFixed(2) ?? '-'} MB/min`,
  );
  for (const out of outages) {
    console.log(
      `  outage ${out.n} (${out.kind}) at ${out.at.toFixed(0)} s, back after ${out.restoredAt === null ? '-' : (out.restoredAt - out.at).toFixed(1)} s: ${out.reportedSamples} samples reported lost (stats)${out.notices.length ? `, messages: ${out.notices.join(' | ')}` : ''}; decisions again after ${out.decisionsAfter?.toFixed(1) ?? '-'} s`,
    );
  }
  for (const x of failures) console.log(`  FAIL ${x}`);
  if (failures.length > 0 && logTail.length > 0) log(`last lines of the session log:\n${logTail.map((l) => `  | ${l}`).join('\n')}`);
  console.log(JSON.stringify(summary));
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    console.error(`soak: ${(e as Error).message}`);
    await shutdown().catch(() => {});
    process.exit(1);
  },
);
