import { read } from 'node:fs';
import { promisify } from 'node:util';
import { autoDetect, type AutoDetectTypes, type BindingPortInterface } from '@serialport/bindings-cpp';

/**
 * The serialport binding of this platform, with one change on Linux and macOS: a read that returns
 * 0 bytes ends the port as disconnected.
 *
 * A non-blocking read of a terminal whose other end hung up (a USB adapter pulled out, a pty
 * whose master closed) returns 0 bytes, at once and forever. The binding's own read
 * (@serialport/bindings-cpp 13, unix-read.js) reads again at once when it gets 0 bytes, so a read
 * in flight at the moment of the hang-up never ends: no 'close' event, one core busy, and a chain
 * of promises growing by some MB per second (seen in a soak run: the unplug went unnoticed and the
 * heap reached 2.5 GB). A read with no data waiting returns EAGAIN instead, so 0 bytes means the
 * end; this read says so, and the port closes and is reopened as after any unplug.
 */
type PortWithFd = BindingPortInterface & { fd: number | null; poller?: { once(event: 'readable', cb: (err: Error | null) => void): unknown } };

const readFd = promisify(read);

function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

async function readUntilData(port: PortWithFd, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    try {
      const { bytesRead } = await readFd(port.fd, buffer, offset, length, null);
      if (bytesRead > 0) return { buffer, bytesRead };
      throw Object.assign(new Error('the terminal hung up (read returned 0 bytes)'), { disconnect: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw e;
      if (!port.isOpen || !port.poller) throw canceled();
      const poller = port.poller;
      await new Promise<void>((resolve, reject) => poller.once('readable', (err) => (err ? reject(err) : resolve())));
    }
  }
}

function hangupAware(binding: AutoDetectTypes): AutoDetectTypes {
  if (process.platform === 'win32') return binding;
  return {
    ...binding,
    async open(options: Parameters<AutoDetectTypes['open']>[0]) {
      const port = (await binding.open(options as never)) as unknown as PortWithFd;
      if (typeof port.fd === 'number' && port.poller) port.read = (buffer, offset, length) => readUntilData(port, buffer, offset, length);
      return port as never;
    },
  };
}

/** The binding every serial port of neurorx opens with. */
export const serialBinding: AutoDetectTypes = hangupAware(autoDetect());
