// @ts-check
import { bandpass, markerEpochs, openSource, slidingWindows } from 'neurorx';
import { fitDecoder } from 'neurorx/ml';
import { lastValueFrom, map, take, toArray } from 'rxjs';

// Calibrate on the cued trials of a recording (here: a simulated motor-imagery session).
const calibration = await openSource('synthetic:motor-imagery?seed=1&trials=20', { speed: 'max' });
const trials = calibration.chunks$.pipe(bandpass({ low: 8, high: 30 }), markerEpochs({ events: { left: 'left', right: 'right' }, tmin: 0.5, tmax: 2.5 }), toArray());
const epochs = await lastValueFrom(trials);
const decoder = await fitDecoder(
  'csp-lda',
  epochs,
  epochs.map((e) => e.label),
  calibration.info.channels.length,
);

// Decode a live stream: every 0.5 s, the last 2 s of signal.
const live = await openSource('synthetic:motor-imagery?seed=2', { speed: 'max' });
const decisions = live.chunks$.pipe(
  bandpass({ low: 8, high: 30 }),
  slidingWindows({ length: 2, hop: 0.5 }),
  map((w) => ({ time: w.endTime, p: decoder.probabilities(w) })),
);
for (const d of await lastValueFrom(decisions.pipe(take(20), toArray()))) console.log(d.time.toFixed(1), decoder.classes.map((c, i) => `${c} ${d.p[i].toFixed(2)}`).join('  '));
