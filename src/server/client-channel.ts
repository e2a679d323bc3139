import type { WebSocket } from 'ws';

export interface ChannelLimits {
  /** Frames handed to the socket and not yet flushed to the kernel before we start queueing. */
  maxInFlight: number;
  /** Frames queued behind those; beyond this the oldest queued frame is dropped. */
  maxQueue: number;
  /** A client whose queue has not emptied for this long is disconnected. */
  stallTimeoutMs: number;
}

/**
 * One client's outbound path. Sending never blocks the pipeline: up to `maxInFlight` frames are
 * handed to the socket; further frames wait in a bounded queue that drops its oldest frame when
 * full (counted in `dropped`); a client that stays backlogged for `stallTimeoutMs` is closed
 * with code 1008 so it cannot hold memory forever.
 */
export class ClientChannel {
  dropped = 0;
  private inFlight = 0;
  private readonly queue: string[] = [];
  private backloggedSince: number | undefined;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: ChannelLimits,
  ) {}

  send(frame: string): void {
    if (this.closed) return;
    if (this.inFlight < this.limits.maxInFlight && this.queue.length === 0) {
      this.write(frame);
      return;
    }
    if (this.queue.length >= this.limits.maxQueue) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(frame);
    this.backloggedSince ??= Date.now();
    this.checkStall();
  }

  /** Closes the client when it has been backlogged too long; returns true if it did. */
  checkStall(now = Date.now()): boolean {
    if (this.closed || this.backloggedSince === undefined) return false;
    if (now - this.backloggedSince < this.limits.stallTimeoutMs) return false;
    this.close(1008, `client too slow: backlogged for ${this.limits.stallTimeoutMs} ms, ${this.dropped} messages dropped`);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.ws.close(code, reason);
    // A stalled peer may never complete the closing handshake.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private write(frame: string): void {
    this.inFlight++;
    this.ws.send(frame, (err) => {
      this.inFlight--;
      if (err) return;
      while (this.inFlight < this.limits.maxInFlight && this.queue.length > 0) this.write(this.queue.shift()!);
      if (this.queue.length === 0) this.backloggedSince = undefined;
    });
  }
}
