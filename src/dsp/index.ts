/**
 * `neurorx/dsp`: causal, stateful streaming DSP on chunks (chunking never changes the output),
 * and the filter designs behind it.
 *
 * @packageDocumentation
 */
export { bandpass, bandstop, highpass, lowpass, notch, sosOperator, type BandOptions, type EdgeOptions, type NotchOptions } from './filter-operators.js';
export { butterworthSos, sosFrequencyResponse, sosGain, type ButterworthType } from './butterworth.js';
export { SosFilter } from './sos-filter.js';
export { notchSos } from './notch.js';
export { decimate, type DecimateOptions } from './decimate.js';
export { commonAverageReference, rereferenceToAverage } from './common-average-reference.js';
export { pickChannels, type PickOptions } from './pick-channels.js';
export { baselineCorrection, subtractBaseline, type BaselineOptions } from './baseline.js';
export { filterBank, type FilterBankBand } from './filter-bank.js';
export { slidingWindows, secondsToSamples, type Window, type WindowOptions } from './windows.js';
export { markerEpochs, epochSpan, type Epoch, type EpochOptions } from './epochs.js';
export { WelchPsd, type WelchOptions } from './welch.js';
export { EEG_BANDS, bandEdges, type BandName, type FrequencyBand } from './frequency-bands.js';
export { Dejitter } from './dejitter.js';
