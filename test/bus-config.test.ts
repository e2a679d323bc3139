import { afterEach, describe, expect, it } from 'vitest';
import { natsServers } from '../src/bus/attach-buses.js';
import { OfflineBuffer } from '../src/bus/offline-buffer.js';
import { sessionIdOf } from '../src/bus/subjects.js';
import { parseConfig } from '../src/config/config-schema.js';

const valid = {
  source: { uri: 'synthetic:motor-imagery' },
  pipeline: { kind: 'motor-imagery', calibration: { from: 'stream', trialsPerClass: 10 } },
};
const savedEnv = process.env.NEURORX_NATS;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.NEURORX_NATS;
  else process.env.NEURORX_NATS = savedEnv;
});

describe('bus config', () => {
  it('fills the defaults of bus.nats and bus.mqtt', () => {
    const c = parseConfig({ ...valid, bus: { nats: { servers: 'nats://127.0.0.1:4222' }, mqtt: { url: 'mqtt://127.0.0.1:1883' } } });
    expect(c.bus?.nats).toEqual({ servers: 'nats://127.0.0.1:4222', signal: false, bufferBytes: 8 * 1024 * 1024 });
    expect(c.bus?.mqtt).toEqual({ url: 'mqtt://127.0.0.1:1883', qos: 1, types: ['command', 'decision', 'status'], bufferMessages: 1000 });
    expect(parseConfig(valid).bus).toBeUndefined();
  });

  it('takes the NATS servers from NEURORX_NATS when the config names none', () => {
    process.env.NEURORX_NATS = 'nats://a:4222, nats://b:4222';
    const c = parseConfig({ ...valid, bus: { nats: {} } });
    expect(natsServers(c.bus?.nats?.servers)).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(natsServers(['nats://c:4222'])).toEqual(['nats://c:4222']);
  });

  const bad: [string, unknown, RegExp][] = [
    ['no NATS server at all', { nats: {} }, /bus\.nats\.servers: required: set bus\.nats\.servers \(or NEURORX_NATS\)/],
    ['a session id that is not one subject token', { nats: { servers: 'nats://x', session: 'lab.1' } }, /bus\.nats\.session: use 1-64 letters, digits/],
    ['a token and a user', { nats: { servers: 'nats://x', token: 't', user: 'u', pass: 'p' } }, /bus\.nats\.token: give either a token or user\/pass/],
    ['a user without pass', { nats: { servers: 'nats://x', user: 'u' } }, /bus\.nats\.pass: user and pass go together/],
    ['an empty server list', { nats: { servers: [] } }, /bus\.nats\.servers: /],
    ['an unknown key', { nats: { servers: 'nats://x', subject: 'y' } }, /bus\.nats: Unrecognized key: "subject"/],
    ['QoS 3', { mqtt: { url: 'mqtt://x', qos: 3 } }, /bus\.mqtt\.qos: /],
    ['a type that is not a topic level', { mqtt: { url: 'mqtt://x', types: ['decision', 'a/b'] } }, /bus\.mqtt\.types\.1: a message type/],
    ['a password without username', { mqtt: { url: 'mqtt://x', password: 'p' } }, /bus\.mqtt\.username: a password needs a username/],
    ['a missing broker URL', { mqtt: {} }, /bus\.mqtt\.url: /],
    ['an unknown bus', { kafka: {} }, /bus: Unrecognized key: "kafka"/],
  ];
  for (const [what, bus, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      delete process.env.NEURORX_NATS;
      expect(() => parseConfig({ ...valid, bus }, 'my.json')).toThrow(message);
    });
  }

  it("makes the config's name a session id", () => {
    expect(sessionIdOf('synthetic motor-imagery demo')).toBe('synthetic-motor-imagery-demo');
    expect(sessionIdOf('lab 1: rig.2/α')).toBe('lab-1-rig-2-');
    expect(sessionIdOf('...')).toBe('-');
    expect(sessionIdOf('')).toBe('neurorx');
    expect(sessionIdOf('x'.repeat(100))).toHaveLength(64);
  });
});

describe('the outage buffer', () => {
  it('keeps the newest entries within its bounds, counting those it drops', () => {
    const b = new OfflineBuffer<number>(3, 100);
    for (let i = 0; i < 5; i++) b.push(i, 10);
    expect(b.length).toBe(3);
    expect(b.drain()).toEqual({ items: [2, 3, 4], dropped: 2 });
    expect(b.length).toBe(0);
    const bytes = new OfflineBuffer<string>(1000, 25);
    for (const s of ['aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc']) bytes.push(s, s.length);
    expect(bytes.drain()).toEqual({ items: ['bbbbbbbbbb', 'cccccccccc'], dropped: 1 });
    // one entry larger than the byte bound is still kept (the newest is never dropped for its size alone)
    bytes.push('x'.repeat(50), 50);
    expect(bytes.drain()).toEqual({ items: ['x'.repeat(50)], dropped: 0 });
    const many = new OfflineBuffer<number>(10, Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 5000; i++) many.push(i, 1);
    expect(many.drain()).toEqual({ items: [4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999], dropped: 4990 });
  });
});
