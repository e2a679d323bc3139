/**
 * `neurorx/ml`: the decoders of motor imagery (CSP+LDA, CSP one-vs-rest, filter-bank CSP,
 * Riemannian MDM and tangent space, EEGNet): fit on labelled blocks, class probabilities for a
 * block, save as JSON and restore.
 *
 * @packageDocumentation
 */
export { DECODER_KINDS, predictLabel, type Decoder, type DecoderKind, type DecoderState, type FitOptions, type SignalBlock } from './decoders/decoder.js';
export { fitDecoder, restoreDecoder } from './decoders/registry.js';
export { decoderSpec, decoderSpecSchema, type DecoderSpec, type DecoderSpecInput } from './decoders/decoder-spec.js';
export { Csp, type CspOptions, type CspState } from './csp.js';
export { Lda, type LdaOptions, type LdaState } from './lda.js';
export { LogisticRegression, type LogisticRegressionOptions, type LogisticRegressionState } from './logistic-regression.js';
export { argmax, softmaxInPlace } from './softmax.js';
