import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { loadRecording } from '../../devices/open-source.js';
import { ErpDecoder, fitErpDecoder, NON_TARGET, TARGET, type ErpDecoderState } from './erp-decoder.js';
import { flashesOfRecording } from './flash-epochs.js';
import { erpPreprocessingSchema, type ErpPreprocessing, type ErpSettings } from './settings.js';

export const ERP_MODEL_FORMAT = 'neurorx-erp-model';

const modelFileSchema = z.object({
  format: z.literal(ERP_MODEL_FORMAT),
  version: z.literal(1),
  sampleRate: z.number().positive(),
  channels: z.array(z.string()).min(1),
  preprocessing: erpPreprocessingSchema,
  /** Post-stimulus samples per flash the decoder was trained on. */
  samples: z.number().int().positive(),
  trials: z.object({ [TARGET]: z.number().int().nonnegative(), [NON_TARGET]: z.number().int().nonnegative() }),
  /** The decoder's state as ErpDecoder holds it (checked by the decoder's constructor). */
  decoder: z.looseObject({ kind: z.string() }),
});

export type ErpModelFile = Omit<z.infer<typeof modelFileSchema>, 'decoder'> & { decoder: ErpDecoderState };

/** A trained ERP decoder with what it needs to be applied to a stream: channels, rate, preprocessing. */
export class ErpModel {
  readonly decoder: ErpDecoder;

  constructor(readonly file: ErpModelFile) {
    this.decoder = new ErpDecoder(file.decoder, file.samples);
  }

  /** log(targets / non-targets) in training: the part of a score that is prior, not evidence. */
  get priorLogOdds(): number {
    return Math.log(this.file.trials[TARGET] / this.file.trials[NON_TARGET]);
  }

  toJSON(): ErpModelFile {
    return this.file;
  }

  async save(path: string): Promise<void> {
    await writeFile(path, JSON.stringify(this.file) + '\n');
  }

  static async load(path: string): Promise<ErpModel> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new Error(`ERP model ${path}: ${(e as Error).message}`);
    }
    const parsed = modelFileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`ERP model ${path}: not a ${ERP_MODEL_FORMAT} file (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    return new ErpModel(parsed.data as unknown as ErpModelFile);
  }
}

/** Trains on a recording's target/non-target flashes, or loads the saved model, as the settings say. */
export async function erpModelFor(settings: ErpSettings, log: (line: string) => void = () => {}): Promise<ErpModel> {
  const cal = settings.calibration;
  if (cal.from === 'model') return ErpModel.load(cal.path);
  const rec = await loadRecording(cal.source);
  const channels = settings.channels ?? rec.info.channels.filter((c) => c.type === 'eeg').map((c) => c.label);
  if (channels.length === 0) throw new Error(`ERP calibration: ${cal.source} has no EEG channels (set "channels")`);
  const { targets, nonTargets } = settings.events;
  const labelOf = (v: string): string | undefined => (targets.includes(v) ? TARGET : nonTargets.includes(v) ? NON_TARGET : undefined);
  const p: ErpPreprocessing = settings.preprocessing;
  const all = await flashesOfRecording(rec, channels, p, labelOf);
  const kept = all.filter((f) => !f.rejected);
  const labels = kept.map((f) => f.label);
  const count = (l: string): number => labels.filter((x) => x === l).length;
  if (count(TARGET) < 2 || count(NON_TARGET) < 2) {
    throw new Error(
      `ERP calibration: ${cal.source} has ${count(TARGET)} target and ${count(NON_TARGET)} non-target flashes kept (markers ${targets.join('/')} vs ${nonTargets.join('/')}); need at least 2 of each`,
    );
  }
  const decoder = fitErpDecoder(settings.decoder, kept, labels, channels.length, p.decimate);
  const model = new ErpModel({
    format: ERP_MODEL_FORMAT,
    version: 1,
    sampleRate: rec.info.sampleRate,
    channels,
    preprocessing: p,
    samples: kept[0].samples,
    trials: { [TARGET]: count(TARGET), [NON_TARGET]: count(NON_TARGET) },
    decoder: decoder.state,
  });
  log(`${settings.decoder.kind} trained on ${kept.length} flashes of ${cal.source} (${count(TARGET)} targets, ${all.length - kept.length} rejected)`);
  if (settings.saveModel) await model.save(settings.saveModel);
  return model;
}
