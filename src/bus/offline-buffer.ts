/**
 * What a bus publisher keeps while its broker is unreachable: a bounded FIFO (by count and by
 * bytes) that drops its oldest entries when full and counts them, so an outage costs bounded
 * memory and the newest messages (the current state) survive it.
 */
export class OfflineBuffer<T> {
  private items: { item: T; bytes: number }[] = [];
  private head = 0;
  private bytes = 0;
  /** Entries dropped since the last `drain` (the outage's losses). */
  dropped = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T, bytes: number): void {
    this.items.push({ item, bytes });
    this.bytes += bytes;
    while (this.length > this.maxItems || (this.bytes > this.maxBytes && this.length > 1)) {
      this.bytes -= this.items[this.head].bytes;
      this.head++;
      this.dropped++;
    }
    // Compact now and then rather than shifting on every drop.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Takes every entry, oldest first, and the number dropped before them; empties the buffer. */
  drain(): { items: T[]; dropped: number } {
    const items = this.items.slice(this.head).map((e) => e.item);
    const dropped = this.dropped;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.dropped = 0;
    return { items, dropped };
  }
}
