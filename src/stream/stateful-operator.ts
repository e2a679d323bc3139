import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Builds an operator from a per-subscription step function: `setup` runs once per subscription
 * and returns `step(value, emit)`. An exception thrown by a step becomes the stream's error
 * (it never escapes as an uncaught exception), and the source is unsubscribed.
 */
export function statefulOperator<In, Out>(setup: () => (value: In, emit: (out: Out) => void) => void): OperatorFunction<In, Out> {
  return (source) =>
    new Observable<Out>((subscriber) => {
      const step = setup();
      const emit = (v: Out): void => subscriber.next(v);
      return source.subscribe({
        next(value) {
          try {
            step(value, emit);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
