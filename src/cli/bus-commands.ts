import type { Command } from 'commander';
import { openSource } from '../../devices/open-source.js';
import { dataSubject } from '../../devices/nats/eeg-bus-names.js';
import { publishSource } from '../../devices/nats/nats-sink.js';
import { asSourceUri, positiveNumber } from './cli-args.js';

/** `neurorx bus ...`: the EEG side of the NATS bus (devices/nats). */
export function registerBusCommands(program: Command): void {
  const bus = program.command('bus').description('EEG over NATS: publish a source so that decoders elsewhere read it as nats:<stream>');
  bus
    .command('send')
    .description('publish a source (a recording, a simulator, an LSL or serial device) as EEG frames on NATS until it ends or Ctrl-C')
    .argument('<source>', 'source URI or a recording file, e.g. file:S001R04.edf, synthetic:motor-imagery?seed=3, lsl:type=EEG')
    .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS, else nats://127.0.0.1:4222)')
    .requiredOption('--stream <name>', 'the stream name on the bus (consumers open nats:<name>)')
    .option('--jetstream', 'retain the frames in the JetStream stream NEURORX_EEG (replay, durable consumers that resume without a gap)', false)
    .option('--max-age <s>', 'with --jetstream: seconds the frames are kept', positiveNumber('--max-age'))
    .option('--max-bytes <n>', 'with --jetstream: bytes the stream keeps at most', positiveNumber('--max-bytes'))
    .option('--speed <x>', 'pace of file and synthetic sources: 1 = real time, "max" = as fast as possible', (v: string) => (v === 'max' ? 'max' : positiveNumber('--speed')(v)), 1)
    .option('--chunk <n>', 'samples per chunk (frame) of file and synthetic sources', positiveNumber('--chunk'), 16)
    .option('--loop', 'start a recording over at its end', false)
    .action(async (uri: string, o: { nats?: string; stream: string; jetstream: boolean; maxAge?: number; maxBytes?: number; speed: number | 'max'; chunk: number; loop: boolean }) => {
      const source = await openSource(asSourceUri(uri), { speed: o.speed, chunkSize: o.chunk, loop: o.loop });
      const log = (line: string): void => void process.stderr.write(`bus send: ${line}\n`);
      const jetstream = o.jetstream ? { ...(o.maxAge !== undefined ? { maxAgeSeconds: o.maxAge } : {}), ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}) } : false;
      const pub = await publishSource(source, { servers: o.nats, stream: o.stream, jetstream, log });
      const i = source.info;
      log(`${i.name} (${i.channels.length} ch @ ${i.sampleRate} Hz) from ${source.uri} -> ${dataSubject(o.stream)}${o.jetstream ? ' (retained in JetStream)' : ''}`);
      const progress = setInterval(() => {
        const s = pub.stats();
        log(`${s.frames} frames, ${s.samples} samples sent${s.droppedFrames ? `, ${s.droppedFrames} frames dropped` : ''}`);
      }, 5000);
      progress.unref();
      const stop = (): void => void pub.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const s = await pub.done;
      clearInterval(progress);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log(`sent ${s.frames} frames, ${s.samples} samples (${s.bytes} bytes)${s.droppedFrames ? `; dropped ${s.droppedFrames} frames, ${s.droppedSamples} samples` : ''}`);
    });
}
