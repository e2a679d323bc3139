// DOM helpers shared by the panels.

/** The element with this id; the page's markup (index.html) is fixed, so a missing one is a bug. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard: the page has no #${id}`);
  return e as T;
}

/** A new element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = '', text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** A number with fixed digits, or "-" when there is none. */
export function fmt(x: number | null | undefined, digits = 1): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

export interface CanvasPaint {
  g: CanvasRenderingContext2D;
  /** Size in device pixels. */
  w: number;
  h: number;
  /** Device pixels per CSS pixel. */
  pr: number;
}

/** Sizes a canvas to its CSS width and `cssHeight` at the device's pixel ratio, and clears it. */
export function clearCanvas(cv: HTMLCanvasElement, cssHeight: number): CanvasPaint {
  const pr = window.devicePixelRatio || 1;
  const w = Math.max(100, Math.floor(cv.clientWidth * pr));
  const h = Math.floor(cssHeight * pr);
  if (cv.width !== w || cv.height !== h) {
    cv.width = w;
    cv.height = h;
  }
  const g = cv.getContext('2d');
  if (!g) throw new Error('dashboard: no 2D canvas context');
  g.clearRect(0, 0, w, h);
  return { g, w, h, pr };
}
