/** A message in the page's corner for a few seconds (errors from the session or the connection). */
export class Toast {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly box: HTMLElement) {}

  show(text: string): void {
    this.box.textContent = text;
    this.box.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.box.hidden = true), 6000);
  }
}
