import { expect } from 'vitest';
import type { RecordedSession } from '../../src/session/recorded-session.js';
import { compareDecisionLines, recordedDecisionLines, replayDecisions } from '../../src/session/replay-session.js';

/**
 * Three replays of a recorded session at other chunk sizes: byte-identical to each other and to
 * what was decided live (at least `minimum` decisions). Returns the live decision lines.
 */
export async function expectReplaysMatchLive(rec: RecordedSession, minimum: number): Promise<string[]> {
  const live = recordedDecisionLines(rec);
  expect(live.length).toBeGreaterThanOrEqual(minimum);
  const runs: string[] = [];
  for (const chunkSize of [5, 32, 256]) runs.push((await replayDecisions(rec, { chunkSize })).lines.join('\n'));
  expect(runs[1]).toBe(runs[0]);
  expect(runs[2]).toBe(runs[0]);
  expect(compareDecisionLines(live, runs[0].split('\n'))).toMatchObject({ differences: 0, identical: live.length });
  return live;
}
