import { Observable } from 'rxjs';
import { LossLog } from '../../src/stream/losses.js';
import { readBoundedTextSync } from '../../src/util/bounded-file.js';
import { parseBoundedJson, type JsonLimits } from '../../src/util/bounded-json.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { AsciiDecoder, BinaryDecoder, genericProtocolSchema, type FrameDecoder, type GenericProtocol } from './generic-protocol.js';
import { localClock } from '../lsl/lsl-clock.js';
import { PacketCounter } from './packet-counter.js';
import { newSerialStats, SampleAssembler, type SerialStats } from './sample-assembler.js';
import { SerialConnection } from './serial-connection.js';
import { issueLines } from '../../src/util/zod-issues.js';

/** A device config is a few lines: anything larger or deeper is refused before it is parsed. */
const DEVICE_CONFIG_LIMITS: JsonLimits = { maxLength: 256 * 1024, maxDepth: 16 };

/** Reads a generic device config (JSON), naming the field at fault when it is invalid. */
export function loadGenericProtocol(file: string): GenericProtocol {
  let json: unknown;
  try {
    json = parseBoundedJson(readBoundedTextSync(file, DEVICE_CONFIG_LIMITS.maxLength), DEVICE_CONFIG_LIMITS);
  } catch (e) {
    throw new Error(`serial device config ${file}: ${(e as Error).message}`);
  }
  const parsed = genericProtocolSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`serial device config ${file}: invalid\n${issueLines(parsed.error)}`);
  }
  return parsed.data;
}

export interface GenericSource {
  readonly info: StreamInfo;
  readonly stats: SerialStats;
  readonly chunks$: Observable<Chunk>;
  /** Gaps, duplicates and silences (see sample-assembler.ts). */
  readonly losses: LossLog;
}

export function openGenericSource(path: string, protocol: GenericProtocol, log: (m: string) => void = () => {}, losses = new LossLog()): GenericSource {
  const info: StreamInfo = {
    name: protocol.name,
    type: 'EEG',
    sourceId: `serial:generic:${path}`,
    channels: protocol.channels.map((c) => ({ label: c.label, type: c.type, unit: c.unit })),
    sampleRate: protocol.rate,
  };
  const stats = newSerialStats();
  const modulo = protocol.format === 'binary' && protocol.counter ? 2 ** (8 * protocol.counter.bytes) : 0;

  const chunks$ = new Observable<Chunk>((subscriber) => {
    const samples = new SampleAssembler(info, stats, subscriber, losses, `serial ${path}`, { counted: modulo > 0 });
    const decoder: FrameDecoder = protocol.format === 'ascii' ? new AsciiDecoder(protocol) : new BinaryDecoder(protocol);
    const counter = modulo > 0 ? new PacketCounter(modulo) : undefined;
    let at = 0;
    const onSample = (values: Float32Array, count?: number): void => {
      stats.packets++;
      if (counter && count !== undefined) {
        const silence = samples.takeSilence(at);
        const verdict = counter.next(count, silence === undefined ? undefined : silence * protocol.rate);
        if (verdict.kind === 'duplicate') {
          stats.duplicates++;
          return;
        }
        stats.droppedPackets += verdict.lost;
        samples.lost(verdict.lost, 'counter', at);
      }
      samples.push(values, at);
    };
    const link = new SerialConnection(path, protocol.baudRate, {
      log,
      onOpen(port, reconnect) {
        decoder.reset();
        if (reconnect) samples.reconnected();
        if (protocol.start) port.write(protocol.start);
        samples.streaming();
      },
      onData(d) {
        at = localClock();
        decoder.push(d, onSample);
        stats.garbageBytes = decoder.garbageBytes;
        samples.flush(at);
      },
      onLost() {
        counter?.reset();
        samples.disconnected();
      },
    });
    link.start();
    return () => {
      samples.close();
      link.stop(protocol.stop);
    };
  });
  return { info, stats, chunks$, losses };
}
