export interface LbfgsOptions {
  /** Stop when max |gradient| falls below this (default 1e-5). */
  gradientTolerance?: number;
  /** Iteration cap (default 200). */
  maxIterations?: number;
  /** Correction pairs kept (default 10). */
  memory?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal 1980): the two-loop recursion
 * for the search direction and a backtracking line search on the Armijo condition. `evaluate`
 * writes the gradient at `x` into `grad` and returns the objective. No npm package offers a
 * maintained, typed-array L-BFGS, and the problems here (logistic regression on a few thousand
 * features) need only this.
 */
export function minimizeLbfgs(evaluate: (x: Float64Array, grad: Float64Array) => number, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const tol = opts.gradientTolerance ?? 1e-5;
  const maxIterations = opts.maxIterations ?? 200;
  const m = opts.memory ?? 10;
  const dim = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(dim);
  const xNew = new Float64Array(dim);
  const gNew = new Float64Array(dim);
  const dir = new Float64Array(dim);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  let f = evaluate(x, g);
  let iterations = 0;
  let converged = maxAbs(g) < tol;
  while (!converged && iterations < maxIterations) {
    iterations++;
    // Two-loop recursion: dir = -H g.
    dir.set(g);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], dir);
      axpy(-alpha[k], y[k], dir);
    }
    if (s.length > 0) {
      const last = s.length - 1;
      scale(dir, dot(s[last], y[last]) / dot(y[last], y[last]));
    } else {
      scale(dir, 1 / Math.max(1, Math.sqrt(dot(g, g))));
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k] * dot(y[k], dir);
      axpy(alpha[k] - beta, s[k], dir);
    }
    scale(dir, -1);
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      dir.set(g);
      scale(dir, -1 / Math.max(1, Math.sqrt(dot(g, g))));
      slope = dot(g, dir);
    }
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < dim; i++) xNew[i] = x[i] + step * dir[i];
      fNew = evaluate(xNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew <= f)) break; // no progress possible at machine precision
    const sk = new Float64Array(dim);
    const yk = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    x.set(xNew);
    g.set(gNew);
    const improvement = f - fNew;
    f = fNew;
    converged = maxAbs(g) < tol || improvement <= 1e-12 * Math.max(1, Math.abs(f));
  }
  return { x, value: f, iterations, converged };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= a;
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}
