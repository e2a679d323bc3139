/**
 * `neurorx/lsl`: the Lab Streaming Layer in pure TypeScript, interoperating with liblsl: resolve
 * streams on the network, read them (inlets, with clock offsets and recovery across outages),
 * publish them (outlets), and LSL streams as neurorx sources.
 *
 * @packageDocumentation
 */
export { resolveStreams, sessionQuery, propQuery, type ResolveOptions } from './resolver.js';
export { LslInlet, LslProtocolError, resolveOne, type InletEvent, type InletOptions } from './inlet.js';
export { LslOutlet, type OutletOptions } from './outlet.js';
export { openLslSource, lslQueryOf, type LslSource } from './lsl-source.js';
export { ChunkOutlet, DecisionOutlet } from './lsl-sink.js';
export { StreamInfoError, MAX_LSL_CHANNELS, type LslStreamInfo, type LslChannelDesc } from './stream-info.js';
export { DEFAULT_LSL_CONFIG, lslConfigFromEnv, type LslConfig, type ResolveScope, type BindScope } from './lsl-config.js';
export { localClock } from './lsl-clock.js';
export type { ChannelFormat } from './channel-format.js';
export type { SampleBatch, ValueArray } from './sample-codec.js';
