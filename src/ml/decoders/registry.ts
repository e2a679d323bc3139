import { CspLdaDecoder } from './csp-lda-decoder.js';
import type { Decoder, FitOptions, SignalBlock } from './decoder.js';
import { decoderSpec, type DecoderSpec, type DecoderSpecInput } from './decoder-spec.js';
import { parseDecoderState } from './decoder-state.js';
import { FbcspDecoder } from './fbcsp-decoder.js';
import { MdmDecoder } from './mdm-decoder.js';
import { TangentSpaceLrDecoder } from './tangent-space-lr-decoder.js';

/**
 * Trains the decoder a spec names on labelled blocks (`channels` per sample; for fbcsp, the
 * filter-bank-stacked channels). Asynchronous because EEGNet trains in TensorFlow.js; the others
 * finish synchronously inside.
 */
export async function fitDecoder(
  input: DecoderSpecInput | DecoderSpec | DecoderSpec['kind'],
  blocks: readonly SignalBlock[],
  labels: readonly string[],
  channels: number,
  opts: FitOptions = {},
): Promise<Decoder> {
  const spec = decoderSpec(input);
  if (blocks.length !== labels.length) throw new Error(`${spec.kind}: ${blocks.length} blocks but ${labels.length} labels`);
  if (blocks.length === 0) throw new Error(`${spec.kind}: no training trials`);
  switch (spec.kind) {
    case 'csp-lda':
    case 'csp-ovr':
      return CspLdaDecoder.fit(blocks, labels, channels, spec);
    case 'fbcsp':
      return FbcspDecoder.fit(blocks, labels, channels, spec);
    case 'mdm':
      return MdmDecoder.fit(blocks, labels, channels, spec, opts);
    case 'tangent-space-lr':
      return TangentSpaceLrDecoder.fit(blocks, labels, channels, spec, opts);
    case 'eegnet': {
      const { EegNetMotorDecoder } = await import('./eegnet-motor-decoder.js');
      return EegNetMotorDecoder.fit(blocks, labels, channels, spec, opts.sampleRate);
    }
  }
}

/** Rebuilds a decoder from `toJSON()` output (the `decoder` field of a saved model). */
export async function restoreDecoder(json: unknown, origin: string): Promise<Decoder> {
  const s = parseDecoderState(json, origin);
  try {
    switch (s.kind) {
      case 'csp-lda':
      case 'csp-ovr':
        return new CspLdaDecoder(s.kind, s.channels, s);
      case 'fbcsp':
        return new FbcspDecoder(s);
      case 'mdm':
        return new MdmDecoder(s.channels, s);
      case 'tangent-space-lr':
        return new TangentSpaceLrDecoder(s.channels, s);
      case 'eegnet': {
        const { EegNetMotorDecoder } = await import('./eegnet-motor-decoder.js');
        return EegNetMotorDecoder.restore(s, origin);
      }
    }
  } catch (e) {
    throw new Error(`${origin}: decoder: ${(e as Error).message}`);
  }
}
