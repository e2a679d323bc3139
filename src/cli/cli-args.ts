import { InvalidArgumentError, type Command } from 'commander';

/** An option that takes a whole number of at least `min`; a usage error naming the option otherwise. */
export const wholeNumber =
  (what: string, min = 0) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be a whole number of at least ${min}, got "${v}"`);
    return n;
  };

/** An option that takes a positive number. */
export const positiveNumber =
  (what: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number, got "${v}"`);
    return n;
  };

/** A command-line argument as a source URI: a URI stays one, a plain path (C:\\ too) becomes file:<path>. */
export function asSourceUri(arg: string): string {
  return /^[a-z]+:/.test(arg) && !/^[a-zA-Z]:[\\/]/.test(arg) ? arg : `file:${arg}`;
}

/** --host, --port and --token of a command that serves sessions over HTTP and WebSocket. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--host <host>', 'bind address; anything but loopback needs a token', '127.0.0.1')
    .option('--port <n>', 'HTTP/WebSocket port', wholeNumber('--port'), 8765)
    .option('--token <token>', 'required from clients and API callers (default $NEURORX_TOKEN)');
}

/** The options of a command that runs sessions in worker threads (a SessionHost). */
export function withThreadOptions(command: Command, stateDir: string): Command {
  return command
    .option('--state-dir <dir>', stateDir)
    .option('--sessions-per-thread <n>', 'sessions sharing one worker thread', wholeNumber('--sessions-per-thread', 1))
    .option('--max-heap-mb <n>', 'heap limit of a worker thread, MB (0: none)', wholeNumber('--max-heap-mb'));
}
