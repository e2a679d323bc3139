import { readdir, realpath } from 'node:fs/promises';
import { SerialPort } from 'serialport';

export interface SerialPortEntry {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

/**
 * Serial ports from the serialport package; where its Linux lister cannot run (it needs udevadm,
 * missing in containers), the device nodes that look like serial ports (/dev/ttyUSB*, ttyACM*, ...).
 */
export async function listSerialPorts(): Promise<SerialPortEntry[]> {
  try {
    return (await SerialPort.list()).map((p) => ({ path: p.path, manufacturer: p.manufacturer, serialNumber: p.serialNumber, vendorId: p.vendorId, productId: p.productId }));
  } catch {
    const names = await readdir('/dev').catch(() => [] as string[]);
    const ports = names.filter((n) => /^tty(USB|ACM|AMA|S)\d+$/.test(n) || /^cu\./.test(n)).map((n) => `/dev/${n}`);
    return Promise.all(ports.map(async (path) => ({ path: await realpath(path).catch(() => path) })));
  }
}
