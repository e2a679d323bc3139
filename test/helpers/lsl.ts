import { DEFAULT_LSL_CONFIG, type LslConfig } from '../../devices/lsl/lsl-config.js';

/**
 * LSL settings for tests: loopback only (machine scope, unicast to 127.0.0.1), on ports of their
 * own so that real LSL programs on the machine neither see nor disturb the tests. Each test file
 * gets its own range (vitest runs files in parallel).
 */
export function testLslConfig(slot: number): LslConfig {
  const base = 27000 + slot * 100;
  return { ...DEFAULT_LSL_CONFIG, scope: 'machine', knownPeers: ['127.0.0.1'], multicastPort: base, basePort: base + 1, portRange: 32 };
}
