/** Types for fft.js (radix-4 FFT, CommonJS; the package ships none). */
declare module 'fft.js' {
  export default class FFT {
    constructor(size: number);
    readonly size: number;
    createComplexArray(): number[];
    /** Fills the left half of `out` (interleaved re, im) with the transform of real `input`. */
    realTransform(out: number[] | Float64Array, input: ArrayLike<number>): void;
    completeSpectrum(out: number[] | Float64Array): void;
  }
}
