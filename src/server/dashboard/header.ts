// The page's head: session state, stream, connection, the control buttons' enabled state, the
// trials collected while calibrating, and the session's detail line under it.
import { byId, el } from './dom.js';
import type { Model } from './model.js';
import type { Probe } from './probe.js';

export class Header {
  private readonly badge = byId('state');
  private readonly stream = byId('stream');
  private readonly conn = byId('conn');
  private readonly calib = byId('calib');
  private readonly detail = byId('detail');
  private readonly calibrate = byId<HTMLButtonElement>('btn-calibrate');
  private readonly stopCalibration = byId<HTMLButtonElement>('btn-stop-calibration');
  private readonly pause = byId<HTMLButtonElement>('btn-pause');

  constructor(
    private readonly model: Model,
    private readonly probe: Probe,
    private readonly simulated: boolean,
  ) {}

  draw(): void {
    const { state, connected } = this.probe;
    this.badge.textContent = state;
    this.badge.dataset.state = state;
    this.stream.textContent = this.model.streamInfo;
    this.detail.textContent = this.model.detail;
    this.conn.textContent = this.simulated ? 'simulated' : connected ? 'online' : 'offline';
    this.conn.classList.toggle('online', connected);
    this.calibrate.disabled = !connected || state === 'calibrating';
    this.stopCalibration.disabled = !connected || state !== 'calibrating';
    this.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.pause.disabled = !connected || state === 'stopped';
    this.drawTrials();
  }

  private drawTrials(): void {
    const calib = this.calib;
    const trials = this.model.trials;
    calib.hidden = !(this.probe.state === 'calibrating' && trials && Object.keys(trials).length);
    if (calib.hidden || !trials) return;
    // the status detail says how many trials per class calibration collects ("collecting 10 trials per class")
    const target = Number(/(\d+) trials per class/.exec(this.model.detail)?.[1]);
    const most = target > 0 ? target : Math.max(1, ...Object.values(trials));
    calib.textContent = '';
    calib.append(el('span', 'muted', 'trials'));
    for (const [label, count] of Object.entries(trials)) {
      const t = el('span', 'trial');
      const meter = el('span', 'meter');
      const fill = el('i');
      fill.style.width = `${Math.min(1, count / most) * 100}%`;
      meter.append(fill);
      t.append(target > 0 ? `${label} ${count}/${target}` : `${label} ${count}`, meter);
      calib.append(t);
    }
  }
}
