import { describe, expect, it } from 'vitest';
import { serialBinding } from '../devices/serial/hangup-aware-binding.js';
import { SerialConnection } from '../devices/serial/serial-connection.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';

const socat = haveSocat();

describe.skipIf(!socat)('a serial port whose other end hangs up', () => {
  // Regression (60-minute soak): a read in flight when the pty's master closed got 0 bytes; the
  // stock binding read again at once, forever: no 'close', a busy core, the heap growing by MBs a
  // second. With @serialport/bindings-cpp's own binding the read below never settles.
  it('a read after the hang-up ends as a disconnect instead of spinning', async () => {
    const pair = await new PtyPair().start();
    const port = await serialBinding.open({ path: pair.host, baudRate: 115200 });
    try {
      await pair.kill();
      const buffer = Buffer.alloc(64);
      const error = await port.read(buffer, 0, 64).then(
        () => undefined,
        (e: Error & { disconnect?: boolean }) => e,
      );
      expect(error?.message).toMatch(/hung up/);
      expect(error?.disconnect).toBe(true);
    } finally {
      if (port.isOpen) await port.close();
    }
  });

  it('data before the hang-up is read; the connection reports the loss and reopens the port when it returns', async () => {
    const pair = await new PtyPair().start();
    const events: string[] = [];
    let received = '';
    const link = new SerialConnection(pair.host, 115200, {
      onOpen: (_port, reconnect) => events.push(reconnect ? 'reopened' : 'opened'),
      onData: (bytes) => (received += bytes.toString('latin1')),
      onLost: () => events.push('lost'),
      log: () => {},
    });
    link.start();
    try {
      const { openSync, writeSync, closeSync } = await import('node:fs');
      const until = async (cond: () => boolean): Promise<void> => {
        while (!cond()) await new Promise((r) => setTimeout(r, 20));
      };
      await until(() => events.includes('opened'));
      const board = openSync(pair.board, 'w');
      writeSync(board, 'hello');
      closeSync(board);
      await until(() => received === 'hello');
      await pair.kill();
      await until(() => events.includes('lost'));
      await pair.start();
      await until(() => events.includes('reopened'));
      expect(events).toEqual(['opened', 'lost', 'reopened']);
    } finally {
      link.stop();
      await pair.kill();
    }
  });
});
