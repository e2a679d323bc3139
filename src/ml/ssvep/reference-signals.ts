import { Matrix, QrDecomposition } from 'ml-matrix';

/**
 * The reference signals of an SSVEP target flickering at `frequency` Hz: sin and cos of each
 * harmonic h·f (h = 1..harmonics) over `samples` samples at `sampleRate`, sample-major
 * (samples x 2·harmonics), time 0 at the first sample of the window.
 */
export function referenceSignals(frequency: number, harmonics: number, samples: number, sampleRate: number): Matrix {
  if (!(frequency > 0)) throw new Error(`SSVEP reference: frequency must be positive, got ${frequency}`);
  if (!Number.isInteger(harmonics) || harmonics < 1) throw new Error(`SSVEP reference: harmonics must be a positive integer, got ${harmonics}`);
  if (harmonics * frequency >= sampleRate / 2) {
    throw new Error(`SSVEP reference: harmonic ${harmonics} of ${frequency} Hz (${harmonics * frequency} Hz) is not below Nyquist (${sampleRate / 2} Hz)`);
  }
  const y = new Matrix(samples, 2 * harmonics);
  for (let s = 0; s < samples; s++) {
    const t = s / sampleRate;
    for (let h = 1; h <= harmonics; h++) {
      const phase = 2 * Math.PI * h * frequency * t;
      y.set(s, 2 * (h - 1), Math.sin(phase));
      y.set(s, 2 * (h - 1) + 1, Math.cos(phase));
    }
  }
  return y;
}

/**
 * An orthonormal basis (columns) of the column space of `y` after removing each column's mean,
 * from a thin QR decomposition: what CCA projects a window on. Full column rank is required (the
 * reference signals of distinct harmonics below Nyquist always have it for windows longer than a
 * few periods).
 */
export function centredBasis(y: Matrix): Matrix {
  const centred = y.clone();
  for (let c = 0; c < y.columns; c++) {
    let m = 0;
    for (let r = 0; r < y.rows; r++) m += y.get(r, c);
    m /= y.rows;
    for (let r = 0; r < y.rows; r++) centred.set(r, c, y.get(r, c) - m);
  }
  if (y.rows <= y.columns) throw new Error(`SSVEP reference: ${y.rows} samples cannot span ${y.columns} reference signals`);
  const qr = new QrDecomposition(centred);
  if (!qr.isFullRank()) throw new Error('SSVEP reference: the reference signals are linearly dependent (window too short for the frequencies?)');
  return qr.orthogonalMatrix;
}
