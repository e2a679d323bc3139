/** What the dashboard's buttons ask of the session; false when the request could not be sent. */
export interface SessionControls {
  calibrate(): boolean;
  stopCalibration(): boolean;
  pause(): boolean;
  resume(): boolean;
}
