import { open } from 'node:fs/promises';
import { closeSync, openSync, readSync } from 'node:fs';

export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
}

const tooLarge = (path: string, maxBytes: number): FileTooLargeError => new FileTooLargeError(`${path}: more than ${maxBytes} bytes; at most ${maxBytes} are read`);

/**
 * Reads a text file of at most `maxBytes`, whatever `stat` says (a FIFO, a /proc file or a file
 * that grows report a size that does not bound what reading them returns): it reads one byte
 * more than allowed and refuses the file if that byte exists.
 */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) throw tooLarge(path, maxBytes);
    return buf.toString('utf8', 0, n);
  } finally {
    await handle.close();
  }
}

/** readBoundedText, synchronously (device configs are read while a source is opened). */
export function readBoundedTextSync(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > maxBytes) throw tooLarge(path, maxBytes);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
