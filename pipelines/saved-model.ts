/** Pipeline settings that can decode with a model saved earlier (`calibration.from: "model"`). */
interface ModelCalibrated {
  readonly calibration: { readonly from: string };
  readonly saveModel?: string;
}

/**
 * The settings a replay decodes with: the recorded model at `modelPath` instead of the configured
 * calibration (and nothing saved again); the settings as they are when no model was recorded.
 */
export function replayWithSavedModel<S extends ModelCalibrated>(settings: S, modelPath: string | undefined): S {
  return modelPath ? { ...settings, calibration: { from: 'model', path: modelPath }, saveModel: undefined } : settings;
}
