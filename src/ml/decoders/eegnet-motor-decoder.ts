import path from 'node:path';
import { EegNetDecoder } from '../eegnet/eegnet-decoder.js';
import type { Decoder, DecoderState, SignalBlock } from './decoder.js';
import type { DecoderSpec } from './decoder-spec.js';

type Spec = Extract<DecoderSpec, { kind: 'eegnet' }>;

/**
 * EEGNet behind the common decoder interface. Its weights are a TensorFlow.js Layers model saved
 * in a folder beside the model JSON ("<stem>.eegnet/"); the JSON names that folder.
 */
export class EegNetMotorDecoder implements Decoder {
  readonly kind = 'eegnet' as const;
  private folder: string | null;

  constructor(
    readonly net: EegNetDecoder,
    readonly channels: number,
    readonly samples: number,
    folder: string | null,
  ) {
    this.folder = folder;
  }

  static async fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, spec: Spec, sampleRate?: number): Promise<EegNetMotorDecoder> {
    const samples = blocks[0].samples;
    if (blocks.some((b) => b.samples !== samples)) throw new Error('eegnet: every training block must have the same length');
    const net = await EegNetDecoder.fit(blocks, labels, channels, {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      learningRate: spec.learningRate,
      seed: spec.seed,
      sampleRate,
    });
    return new EegNetMotorDecoder(net, channels, samples, null);
  }

  static async restore(state: { channels: number; samples: number; classes: string[]; model: string }, origin: string): Promise<EegNetMotorDecoder> {
    const net = await EegNetDecoder.load(state.model);
    if (net.classes.join() !== state.classes.join()) {
      throw new Error(`${origin}: decoder.classes (${state.classes.join(', ')}) differ from the EEGNet model's (${net.classes.join(', ')})`);
    }
    return new EegNetMotorDecoder(net, state.channels, state.samples, state.model);
  }

  get classes(): readonly string[] {
    return this.net.classes;
  }

  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    if (block.samples !== this.samples) throw new Error(`eegnet: trained on ${this.samples}-sample blocks, got ${block.samples} (set the window length to the epoch length)`);
    return this.net.probabilities(block, out);
  }

  async saveFiles(dir: string, stem: string): Promise<void> {
    this.folder = path.join(dir, `${stem}.eegnet`);
    await this.net.save(this.folder);
  }

  toJSON(): DecoderState {
    if (!this.folder) throw new Error('eegnet: save the model (saveModel) before serialising it: its weights live in a folder beside the JSON');
    return { kind: this.kind, channels: this.channels, samples: this.samples, classes: [...this.classes], model: path.basename(this.folder) };
  }

  dispose(): void {
    this.net.dispose();
  }
}
