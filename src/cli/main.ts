import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { z } from 'zod';
import { configSchemaFor, ConfigError, loadConfig, parseConfig, type Config } from '../config/config-schema.js';
import { loadPlugins } from '../config/load-plugins.js';
import { messageJsonSchemas } from '../server/messages.js';
import { startSession } from '../session/run-session.js';
import { attachBuses } from '../bus/attach-buses.js';
import { projectPath } from '../util/project-path.js';
import { VERSION } from '../version.js';
import { inspectSource } from './inspect.js';
import { describeLoss } from '../stream/losses.js';
import { recordSource } from './record.js';
import { registerBusCommands } from './bus-commands.js';
import { replayRecordingCli, sessionReplayConfig } from './replay-recording.js';
import { registerServeCommand } from './serve-command.js';
import { registerGatewayCommand } from './gateway-command.js';
import { registerWorkerCommands } from './worker-command.js';
import { exportEdfFromRecording } from '../session/export-edf.js';
import { TASK_RUNS } from '../../pipelines/motor-imagery/evaluate.js';
import { pipelineRegistry } from '../../pipelines/registry.js';
import { loadRecording, openSource } from '../../devices/open-source.js';
import { lslConfigFromEnv } from '../../devices/lsl/lsl-config.js';
import { ChunkOutlet } from '../../devices/lsl/lsl-sink.js';
import { CytonSimulator } from '../../devices/serial/cyton-simulator.js';
import { listSerialPorts } from '../../devices/serial/serial-ports.js';
import { CYTON_MOTOR_LABELS, recordedSignal, syntheticSignal } from '../../devices/serial/simulator-signal.js';
import { MOTOR_IMAGERY_CHANNELS } from '../../devices/synthetic/motor-imagery.js';
import { resolveStreams, sessionQuery } from '../../devices/lsl/resolver.js';
import { asSourceUri } from './cli-args.js';

const program = new Command();
program.name('neurorx').description('Real-time BCI pipelines: EEG in, decisions out over WebSocket').version(VERSION);

const number =
  (what: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number, got "${v}"`);
    return n;
  };
const integerList =
  (what: string) =>
  (v: string): number[] => {
    const out: number[] = [];
    for (const part of v.split(',')) {
      const range = /^(\d+)-(\d+)$/.exec(part.trim());
      if (range) for (let i = Number(range[1]); i <= Number(range[2]); i++) out.push(i);
      else if (/^\d+$/.test(part.trim())) out.push(Number(part));
      else throw new InvalidArgumentError(`${what}: "${part}" is not a number or a range like 1-3`);
    }
    return out;
  };
const speedArg = (v: string): number | 'max' => (v === 'max' ? 'max' : number('--speed')(v));

program
  .command('run')
  .description('run a session from a config (default: the embedded synthetic motor-imagery demo)')
  .argument('[config]', 'JSON config file', projectPath('config', 'default.json'))
  .option('--port <n>', 'WebSocket/HTTP port (overrides the config)', number('--port'))
  .option('--nats <urls>', 'also publish on NATS (comma-separated server URLs; sets bus.nats.servers)')
  .action(async (file: string, opts: { port?: number; nats?: string }) => {
    const config = await loadConfig(file);
    if (opts.port !== undefined) config.server.port = opts.port;
    if (opts.nats !== undefined) {
      const servers = opts.nats
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (servers.length === 0) throw new InvalidArgumentError('--nats: give one or more server URLs, e.g. nats://127.0.0.1:4222');
      config.bus = { ...config.bus, nats: { signal: false, bufferBytes: 8 * 1024 * 1024, ...config.bus?.nats, servers } };
    }
    await runUntilDone(config);
  });

registerServeCommand(program);
registerWorkerCommands(program);
registerGatewayCommand(program);

program
  .command('replay')
  .description('replay a recording, decisions over WebSocket: a neurorx session recording (.xdf) through its recorded config and model; any other recording through the motor-imagery pipeline')
  .argument('<file>', 'a neurorx session recording (.xdf), an EDF/EDF+/BDF/XDF file (or any source URI)')
  .option('--speed <x>', 'pace: 1 = real time, "max" = as fast as possible', speedArg, 1)
  .option('--chunk <n>', 'samples per chunk (default 16; a headless replay of a session recording: the live chunks)', number('--chunk'))
  .option('--loop', 'start over at the end', false)
  .option('--events <map>', 'cue markers to classes, e.g. T1=left,T2=right (default: left,right markers)')
  .option('--calibrate <uri>', 'train on this recording (default: the replayed file itself)')
  .option('--model <path>', 'use a saved model instead of calibrating')
  .option('--channels <labels>', 'comma-separated channels (default: every EEG channel)')
  .option('--port <n>', 'WebSocket/HTTP port', number('--port'), 8765)
  .option('--check', 'a neurorx session recording (.xdf): replay it headless, as fast as possible, and compare with the decisions recorded live (exit 1 on any difference)', false)
  .option('--out <file>', 'a neurorx session recording: replay it headless and write the decisions, one canonical JSON line each (no latencyMs)')
  .option('--config <file>', 'with --check/--out: decode with this config instead of the recorded one')
  .option('--json', 'with --check: print the report as JSON', false)
  .action(
    async (
      file: string,
      o: {
        speed: number | 'max';
        chunk?: number;
        loop: boolean;
        events?: string;
        calibrate?: string;
        model?: string;
        channels?: string;
        port: number;
        check: boolean;
        out?: string;
        config?: string;
        json: boolean;
      },
    ) => {
      if (o.check || o.out) {
        process.exitCode = await replayRecordingCli(file, { check: o.check, out: o.out, config: o.config ? await loadConfig(o.config) : undefined, model: o.model, chunk: o.chunk, json: o.json });
        return;
      }
      const recorded = o.events || o.calibrate || o.channels ? undefined : await sessionReplayConfig(file, { ...o, chunk: o.chunk ?? 16 });
      if (recorded) {
        await runUntilDone(recorded);
        return;
      }
      const uri = asSourceUri(file);
      const events = o.events ? parseEvents(o.events) : await defaultEvents(uri);
      const config = parseConfig(
        {
          name: `replay ${path.basename(file)}`,
          source: { uri, replay: { speed: o.speed, chunkSize: o.chunk ?? 16, loop: o.loop } },
          pipeline: {
            kind: 'motor-imagery',
            events,
            ...(o.channels ? { channels: o.channels.split(',').map((c) => c.trim()) } : {}),
            calibration: o.model ? { from: 'model', path: o.model } : { from: 'recording', source: o.calibrate ?? uri },
          },
          server: { port: o.port },
        },
        'replay options',
      );
      await runUntilDone(config);
    },
  );

program
  .command('record')
  .description('record a source (signal and markers) to XDF as it arrives, crash-safe (flushed every second)')
  .argument('<source>', 'source URI, e.g. lsl:type=EEG, serial:cyton:/dev/ttyUSB0, synthetic:motor-imagery?seed=3, or a file')
  .requiredOption('--out <file>', 'the XDF file to write (never overwritten unless --overwrite)')
  .option('--seconds <n>', 'stream seconds to record (default: until Ctrl-C or the end of the source)', number('--seconds'))
  .option('--speed <x>', 'pace of file and synthetic sources: 1 = real time, "max" = as fast as possible', speedArg, 1)
  .option('--chunk <n>', 'samples per chunk of file and synthetic sources', number('--chunk'), 16)
  .option('--flush <ms>', 'write to the file at least this often', number('--flush'), 1000)
  .option('--edf', 'also export the signal and markers to EDF+ (same name, .edf) at the end', false)
  .option('--overwrite', 'replace existing files', false)
  .action(async (uri: string, o: { out: string; seconds?: number; speed: number | 'max'; chunk: number; flush: number; edf: boolean; overwrite: boolean }) => {
    await recordSource(asSourceUri(uri), o.out, { seconds: o.seconds, speed: o.speed, chunk: o.chunk, flushIntervalMs: o.flush, edf: o.edf, overwrite: o.overwrite, log: (l) => console.error(l) });
  });

program
  .command('export')
  .description('export the signal of an XDF recording and its markers to EDF+ (for tools that do not read XDF)')
  .argument('<recording>', 'an XDF file (a neurorx session recording or any LabRecorder file)')
  .requiredOption('--edf <file>', 'the EDF+ file to write')
  .option('--stream <name>', 'the signal stream (name, type or id; default: the recorded signal, or the first regular numeric stream)')
  .option('--overwrite', 'replace an existing file', false)
  .action(async (file: string, o: { edf: string; stream?: string; overwrite: boolean }) => {
    console.error(await exportEdfFromRecording(file, o.edf, { overwrite: o.overwrite, ...(o.stream !== undefined ? { stream: o.stream } : {}) }));
  });

program
  .command('inspect')
  .description('read a source for a while and summarise it (stream info, per-channel statistics, drops)')
  .argument('<source>', 'source URI, e.g. file:rec.edf or synthetic:motor-imagery')
  .option('--seconds <n>', 'stream seconds to read', number('--seconds'), 5)
  .option('--json', 'print the report as JSON on the last line', false)
  .action(async (uri: string, o: { seconds: number; json: boolean }) => {
    const report = await inspectSource(uri, o.seconds);
    if (o.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
      return;
    }
    const s = report.stream;
    console.log(`${s.name} [${s.type}] ${s.channelCount} channels @ ${s.sampleRate} Hz (${s.sourceId})`);
    console.log(
      `${report.samples} samples in ${report.chunks} chunks (${report.seconds.toFixed(2)} s), ${report.dropped} dropped` +
        (report.measuredRate ? `, measured ${report.measuredRate.toFixed(1)} Hz` : ''),
    );
    console.log(`markers: ${report.markers.count} ${JSON.stringify(report.markers.values)}`);
    for (const c of report.channels) {
      console.log(`  ${c.label.padEnd(8)} ${c.type.padEnd(5)} mean ${fmt(c.mean)} std ${fmt(c.std)} min ${fmt(c.min)} max ${fmt(c.max)} ${c.unit}`);
    }
    for (const g of report.gaps) console.log(`gap: ${describeLoss({ kind: 'gap', ...g })}`);
    for (const w of report.warnings) console.log(`warning: ${w}`);
    if (report.losses.omitted > 0) console.log(`(${report.losses.omitted} more gap(s)/warning(s) not listed)`);
  });

program
  .command('evaluate')
  .description('offline accuracy of motor-imagery or emotion decoders on a dataset (JSON result on the last line)')
  .option(
    '--dataset <name>',
    'motor imagery: eegmmidb (PhysioNet, the default) or synthetic; emotion: synthetic-emotion (default), dreamer, deap or seed; MEG: synthetic-meg (default) or n170; ERP: muse-p300 (default) or n170',
  )
  .option('--subjects <list>', 'subjects, e.g. 1 or 1-5 or 1,3,7 (motor imagery default 1; emotion default all, synthetic 1-16)', integerList('--subjects'))
  .option('--task <name>', `eegmmidb task: ${Object.keys(TASK_RUNS).join(', ')}`, 'hands-feet')
  .option('--runs <list>', 'eegmmidb runs (default: the runs of --task)', integerList('--runs'))
  .option(
    '--pipeline <names>',
    `decoders of one pipeline kind, comma-separated: ${pipelineRegistry.kinds
      .map((k) => pipelineRegistry.get(k).evaluate?.decoders.join(', '))
      .filter(Boolean)
      .join('; or ')}`,
    'csp-lda',
  )
  .option('--target <name>', 'emotion: valence or arousal', 'valence')
  .option('--levels <n>', 'emotion: 2 (low/high) or 5 (rating levels)', number('--levels'), 2)
  .option('--sequence <n>', 'emotion: feature frames per decision', number('--sequence'), 8)
  .option('--data <path>', 'emotion: where the dataset lies (default: under $NEURORX_DATA)')
  .option('--meg-channels <n>', 'synthetic-meg: sensors', number('--meg-channels'), 102)
  .option('--rate <hz>', 'synthetic-meg: sample rate', number('--rate'), 200)
  .option('--images <n>', 'synthetic-meg: gallery size (20% held out)', number('--images'), 1000)
  .option('--repetitions <n>', 'synthetic-meg: presentations of each held-out image', number('--repetitions'), 4)
  .option('--training <mode>', 'MEG: pooled (one decoder for all subjects) or subject (one per subject)', 'pooled')
  .option('--cv <scheme>', 'kfold (interleaved stratified), shuffle (random stratified splits) or cross-run', 'kfold')
  .option('--folds <n>', 'kfold folds, or shuffle splits (default 5, or 10 for shuffle); emotion: subject folds (default 4)', number('--folds'))
  .option('--test-size <f>', 'held-out fraction per shuffle split', number('--test-size'), 0.2)
  .option('--seed <n>', 'seed of the shuffle splits', number('--seed'), 42)
  .option('--test-runs <list>', 'cross-run: runs held out for testing (default: the last of each task)', integerList('--test-runs'))
  .option('--recenter', 'cross-run: re-centre Riemannian decoders on each run (unsupervised transfer)', false)
  .option('--band <lo,hi>', 'band-pass, Hz', '7,30')
  .option('--order <n>', 'Butterworth order', number('--order'), 4)
  .option('--tmin <s>', 'epoch start after the cue', number('--tmin'), 1)
  .option('--tmax <s>', 'epoch end after the cue (inclusive)', number('--tmax'), 2)
  .option('--components <n>', 'CSP components (csp-lda, csp-ovr, fbcsp)', number('--components'), 4)
  .option('--shrinkage <s>', 'LDA shrinkage of csp-lda: none, auto or a number in [0,1]', 'none')
  .option('--epochs <n>', 'EEGNet / HiSTN training epochs', number('--epochs'))
  .option('--window <s>', 'SSVEP (--dataset muse-ssvep): seconds of signal from each stimulus marker (default 3)', number('--window'))
  .option('--harmonics <n>', 'SSVEP: harmonics of the CCA/FBCCA reference sinusoids (default 2)', number('--harmonics'))
  .option('--json', 'print only the JSON result', false)
  .action(async (o: Record<string, unknown>) => {
    const names = String(o.pipeline)
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    // The pipeline of the first decoder named evaluates them all; it names any it does not know.
    const plugin = names.map((n) => pipelineRegistry.evaluatorOf(n)).find((p) => p !== undefined);
    if (!plugin?.evaluate) {
      const known = pipelineRegistry.kinds.flatMap((k) => pipelineRegistry.get(k).evaluate?.decoders ?? []);
      throw new InvalidArgumentError(`--pipeline: unknown decoder "${names[0] ?? ''}" (available: ${known.join(', ')})`);
    }
    await plugin.evaluate.run(names, o);
  });

const lsl = program.command('lsl').description('Lab Streaming Layer: list streams on the network, publish a recording');

lsl
  .command('list')
  .description('list the LSL streams that answer within --timeout seconds')
  .option('--timeout <s>', 'seconds to wait for answers', number('--timeout'), 2)
  .option('--query <predicate>', 'only streams matching this predicate, e.g. "type=\'EEG\'"', '')
  .option('--json', 'print the streams as JSON on the last line', false)
  .action(async (o: { timeout: number; query: string; json: boolean }) => {
    const config = lslConfigFromEnv();
    const streams = await resolveStreams(sessionQuery(o.query, config.sessionId), { timeout: o.timeout, config });
    if (o.json) {
      process.stdout.write(JSON.stringify(streams.map(({ descXml: _d, ...s }) => s)) + '\n');
      return;
    }
    if (streams.length === 0) console.log(`no LSL streams answered within ${o.timeout} s (scope ${config.scope})`);
    for (const s of streams) {
      console.log(
        `${s.name} [${s.type}] ${s.channelCount} x ${s.channelFormat} @ ${s.nominalSrate || 'irregular'} Hz  source_id=${s.sourceId || '-'}  ${s.hostname} ${s.v4address}:${s.v4dataPort}  uid=${s.uid}`,
      );
    }
  });

lsl
  .command('send')
  .description('replay a recording as a live LSL outlet, its markers as a second outlet "<name>-markers"')
  .argument('<file>', 'an EDF/EDF+/BDF file or any source URI')
  .option('--name <name>', 'stream name', 'neurorx')
  .option('--type <type>', 'stream type', 'EEG')
  .option('--speed <x>', 'pace: 1 = real time', speedArg, 1)
  .option('--chunk <n>', 'samples per chunk', number('--chunk'), 16)
  .option('--loop', 'start over at the end', false)
  .action(async (file: string, o: { name: string; type: string; speed: number | 'max'; chunk: number; loop: boolean }) => {
    const uri = asSourceUri(file);
    const source = await openSource(uri, { speed: o.speed, chunkSize: o.chunk, loop: o.loop });
    const outlet = await ChunkOutlet.open(source.info, o.name, { type: o.type, config: lslConfigFromEnv(), log: (m) => console.error(m) });
    console.error(
      `LSL outlet "${o.name}" (${source.info.channels.length} ch @ ${source.info.sampleRate} Hz) and "${o.name}-markers" on ${outlet.signal.info.hostname}:${outlet.signal.info.v4dataPort}`,
    );
    let samples = 0;
    await new Promise<void>((resolve, reject) => {
      const sub = source.chunks$.subscribe({
        next: (c) => {
          outlet.push(c);
          samples += c.samples;
        },
        error: reject,
        complete: resolve,
      });
      const stop = (): void => {
        sub.unsubscribe();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    console.error(`sent ${samples} samples`);
    await outlet.close();
  });

const serial = program.command('serial').description('serial EEG boards: list ports, simulate an OpenBCI Cyton');

serial
  .command('list')
  .description('list serial ports')
  .option('--json', 'print the ports as JSON on the last line', false)
  .action(async (o: { json: boolean }) => {
    const ports = await listSerialPorts();
    if (o.json) return void process.stdout.write(JSON.stringify(ports) + '\n');
    if (ports.length === 0) console.log('no serial ports found');
    for (const p of ports) console.log(`${p.path}${p.manufacturer ? `  ${p.manufacturer}` : ''}${p.serialNumber ? `  serial ${p.serialNumber}` : ''}`);
  });

serial
  .command('simulate')
  .description('act as an OpenBCI Cyton on a serial port (one end of a pty pair: socat pty,raw,echo=0,link=/tmp/cyton pty,raw,echo=0,link=/tmp/cyton-host)')
  .argument('<path>', 'the serial port to serve the board on')
  .option('--daisy', 'Cyton + Daisy (16 channels at 125 Hz)', false)
  .option('--source <uri>', 'the EEG to stream: synthetic:motor-imagery?seed=N or a recording (file:rec.edf), looped', 'synthetic:motor-imagery?seed=7')
  .option('--labels <labels>', 'which generator channels go to the board channels (comma-separated)')
  .action(async (path: string, o: { daisy: boolean; source: string; labels?: string }) => {
    const rate = o.daisy ? 125 : 250;
    const labels = o.labels ? o.labels.split(',').map((l) => l.trim()) : o.daisy ? MOTOR_IMAGERY_CHANNELS.slice(0, 16) : CYTON_MOTOR_LABELS;
    const signal = o.source.startsWith('synthetic:') ? syntheticSignal(o.source, labels, rate) : recordedSignal(await loadRecording(asSourceUri(o.source)), labels, rate);
    const sim = await CytonSimulator.open({ path, daisy: o.daisy, signal });
    console.error(`simulated Cyton${o.daisy ? '+Daisy' : ''} on ${path}: ${labels.join(',')} from ${o.source}; waiting for commands`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sim.close();
  });

program
  .command('schema')
  .description('print the JSON Schemas of the WebSocket messages and of the config file (with the plug-ins of --config or --plugins)')
  .option('--config <file>', 'load the pipeline plug-ins this config names')
  .option('--plugins <modules>', 'load these pipeline plug-ins (comma-separated paths or packages)')
  .action(async (o: { config?: string; plugins?: string }) => {
    if (o.config) await loadConfig(o.config);
    if (o.plugins)
      await loadPlugins(
        o.plugins.split(',').map((p) => p.trim()),
        process.cwd(),
        pipelineRegistry,
        '--plugins',
      );
    const doc = { ...messageJsonSchemas(pipelineRegistry), config: z.toJSONSchema(configSchemaFor(pipelineRegistry), { io: 'input' }) };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  });

function fmt(v: number): string {
  return (Number.isFinite(v) ? v.toFixed(2) : String(v)).padStart(10);
}

function parseEvents(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const [marker, label] = pair.split('=').map((x) => x?.trim());
    if (!marker || !label) throw new InvalidArgumentError(`--events: "${pair}" is not marker=class (e.g. T1=left)`);
    out[marker] = label;
  }
  return out;
}

/** left/right when the recording has such markers; otherwise asks for --events, naming the markers found. */
async function defaultEvents(uri: string): Promise<Record<string, string>> {
  const rec = await loadRecording(uri);
  const values = [...new Set(rec.markers.map((m) => m.value))];
  if (values.includes('left') && values.includes('right')) return { left: 'left', right: 'right' };
  throw new InvalidArgumentError(
    `the recording's markers are ${values.join(', ') || '(none)'}; say which two are the classes with --events, e.g. --events ${values[1] ?? 'T1'}=left,${values[2] ?? 'T2'}=right`,
  );
}

async function runUntilDone(config: Config): Promise<void> {
  const log = (l: string): void => console.error(l);
  const session = await startSession(config, { log });
  let bus;
  try {
    // Bus outages are also told to the WebSocket clients, as status warnings.
    bus = await attachBuses(session, config.bus, log, (m) => session.server.hub.broadcast(m));
  } catch (e) {
    await session.stop();
    throw e;
  }
  const stop = async (): Promise<void> => {
    await session.stop();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const { error } = await session.done;
  await session.stop();
  await bus.close();
  if (error) process.exitCode = 1;
}

registerBusCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  console.error(err instanceof ConfigError ? err.message : `neurorx: ${err.message}`);
  process.exitCode = 1;
});
