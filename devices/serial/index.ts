/**
 * `neurorx/serial`: EEG boards on serial ports: the OpenBCI Cyton (and Daisy), devices described
 * by a small JSON protocol file, the port list, and a Cyton simulator for tests.
 *
 * @packageDocumentation
 */
export { openCytonSource, type CytonOptions, type CytonSource } from './cyton-source.js';
export { openGenericSource, loadGenericProtocol, type GenericSource } from './generic-source.js';
export { openSerialSource } from './serial-source.js';
export { listSerialPorts, type SerialPortEntry } from './serial-ports.js';
export { CytonSimulator, type SignalFn, type SimulatorOptions } from './cyton-simulator.js';
export type { DropReason, SerialStats } from './sample-assembler.js';
