import { byId } from './dom.js';
import type { Probe } from './probe.js';
import type { SessionControls } from './session-controls.js';

/** The header's buttons: Calibrate, Stop calibration, Pause / Resume (which one follows the state). */
export function wireControls(controls: SessionControls, probe: Probe, notSent: () => void): void {
  const click = (id: string, request: () => boolean): void =>
    byId(id).addEventListener('click', () => {
      if (!request()) notSent();
    });
  click('btn-calibrate', () => controls.calibrate());
  click('btn-stop-calibration', () => controls.stopCalibration());
  click('btn-pause', () => (probe.state === 'paused' ? controls.resume() : controls.pause()));
}
