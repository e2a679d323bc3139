import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import { PROJECT_ROOT } from './helpers/data.js';

const valid = {
  source: { uri: 'synthetic:motor-imagery' },
  pipeline: { kind: 'motor-imagery', calibration: { from: 'stream', trialsPerClass: 10 } },
};

describe('config validation', () => {
  it('accepts the shipped default config and fills defaults', async () => {
    const c = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8765 });
    expect(c.pipeline.calibration.from).toBe('recording');
    const minimal = parseConfig(valid);
    expect(minimal.pipeline.kind === 'motor-imagery' && minimal.pipeline.bandpass).toEqual({ low: 7, high: 30, order: 4 });
    expect(minimal.source.replay).toEqual({ speed: 1, chunkSize: 16, loop: false });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a port that is a string', { ...valid, server: { port: '8765' } }, /server\.port: Invalid input: expected number, received string/],
    ['a band with high below low', { ...valid, pipeline: { ...valid.pipeline, bandpass: { low: 30, high: 8 } } }, /pipeline\.bandpass\.high: high must be greater than low/],
    ['an unknown key', { ...valid, sauce: 1 }, /\(root\): Unrecognized key: "sauce"/],
    ['an unknown calibration mode', { ...valid, pipeline: { ...valid.pipeline, calibration: { from: 'magic' } } }, /pipeline\.calibration\.from: /],
    ['a missing source', { pipeline: valid.pipeline }, /source: Invalid input: expected object, received undefined/],
    ['three classes for the two-class csp-lda', { ...valid, pipeline: { ...valid.pipeline, events: { a: 'x', b: 'y', c: 'z' } } }, /pipeline\.events: csp-lda handles exactly two classes, got 3/],
    ['one class', { ...valid, pipeline: { ...valid.pipeline, decoder: { kind: 'mdm' }, events: { a: 'x', b: 'x' } } }, /pipeline\.events: must map cue markers to at least two classes/],
    ['an unknown decoder', { ...valid, pipeline: { ...valid.pipeline, decoder: { kind: 'svm' } } }, /pipeline\.decoder\.kind: /],
    ['a control threshold above 1', { ...valid, pipeline: { ...valid.pipeline, control: { threshold: 1.5 } } }, /pipeline\.control\.threshold: /],
  ];
  for (const [what, json, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      expect(() => parseConfig(json, 'my.json')).toThrow(message);
      expect(() => parseConfig(json, 'my.json')).toThrow(/^my\.json: invalid config/);
    });
  }

  it('reports unreadable and non-JSON files with the path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-'));
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "source": ');
    await expect(loadConfig(file)).rejects.toThrow(new RegExp(`${file}: not valid JSON`));
    await expect(loadConfig(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read config: ENOENT/);
  });
});
