import { readFileSync } from 'node:fs';
import { Observable } from 'rxjs';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { AsciiDecoder, BinaryDecoder, genericProtocolSchema, type FrameDecoder, type GenericProtocol } from './generic-protocol.js';
import { newSerialStats, SampleAssembler, type SerialStats } from './sample-assembler.js';
import { SerialConnection } from './serial-connection.js';

/** Reads a generic device config (JSON), naming the field at fault when it is invalid. */
export function loadGenericProtocol(file: string): GenericProtocol {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`serial device config ${file}: ${(e as Error).message}`);
  }
  const parsed = genericProtocolSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new Error(`serial device config ${file}: invalid\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export interface GenericSource {
  readonly info: StreamInfo;
  readonly stats: SerialStats;
  readonly chunks$: Observable<Chunk>;
}

export function openGenericSource(path: string, protocol: GenericProtocol, log: (m: string) => void = () => {}): GenericSource {
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
    const samples = new SampleAssembler(info, stats, subscriber);
    const decoder: FrameDecoder = protocol.format === 'ascii' ? new AsciiDecoder(protocol) : new BinaryDecoder(protocol);
    let lastCounter = -1;
    const onSample = (values: Float32Array, counter?: number): void => {
      stats.packets++;
      if (counter !== undefined && modulo > 0) {
        if (lastCounter >= 0) {
          const lost = (counter - lastCounter - 1 + modulo) % modulo;
          if (lost > 0) {
            stats.droppedPackets += lost;
            samples.lost(lost, 'counter');
          }
        }
        lastCounter = counter;
      }
      samples.push(values);
    };
    const link = new SerialConnection(path, protocol.baudRate, {
      log,
      onOpen(port, reconnect) {
        decoder.reset();
        if (reconnect) samples.reconnected();
        if (protocol.start) port.write(protocol.start);
      },
      onData(d) {
        decoder.push(d, onSample);
        stats.garbageBytes = decoder.garbageBytes;
        samples.flush();
      },
      onLost() {
        lastCounter = -1;
      },
    });
    link.start();
    return () => link.stop(protocol.stop);
  });
  return { info, stats, chunks$ };
}
