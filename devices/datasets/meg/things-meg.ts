import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { issueLines } from '../../../src/util/zod-issues.js';
import type { ImageEpoch, MegDataset, MegSubject } from './meg-dataset.js';

/**
 * Image-locked MEG that a user brings (THINGS-MEG or their own recording), as a *neurorx MEG
 * bundle*: a folder with a JSON manifest and one raw Float32 file of epochs per subject. neurorx
 * does not read FIF or CTF files here; the epochs are cut and cleaned in MNE-Python, where that
 * work belongs, and exported with the snippet below.
 *
 * THINGS-MEG (Hebart et al., 2023, OpenNeuro ds004212): four participants on a 272-channel CTF
 * system saw ~22k object images once each and 200 test images 12 times; its derivatives include
 * preprocessed, image-locked epochs per participant (MNE `-epo.fif`), with the image in the
 * epochs' metadata or event ids. Those are what to export. The test images are then the repeated
 * ones, which is what `split` in devices/synthetic/meg-images.ts looks for; the gallery
 * (src/retrieval/gallery.ts) holds the embeddings of the same image ids, made by the image model
 * of your choice.
 *
 * Layout:
 *
 *     <dir>/manifest.json
 *     <dir>/<one .f32 file per subject, named in the manifest>
 *
 * manifest.json:
 *
 *     {
 *       "format": "neurorx.meg-bundle", "version": 1,
 *       "name": "things-meg",
 *       "sampleRate": 200,
 *       "channels": [{ "label": "MLC11-4408", "type": "mag", "unit": "T" }, ...],
 *       "positions": [{ "x": -0.12, "y": 0.35 }, ...],       // one per channel, 2-D layout, ~[-1, 1]
 *       "subjects": [
 *         { "id": "P1", "file": "P1.f32", "samples": 241, "onset": 40,
 *           "images": ["aardvark_01b", "abacus_02s", ...] }   // one id per epoch, in file order
 *       ]
 *     }
 *
 * Channel types are neurorx's ChannelType ('mag', 'grad', 'eeg', ...), units as MNE stores them
 * (T, T/m, V). A subject's file holds its epochs back to back, each `samples` x channels values,
 * sample-major (all channels of sample 0, then sample 1, ...), little-endian float32: exactly
 * images.length x samples x channels x 4 bytes. Sample `onset` of each epoch is the image onset.
 * All epochs of a subject share `samples` and `onset` (MNE epochs do).
 *
 * Export from MNE-Python (the image id column is whatever your metadata calls it):
 *
 *     import json, os, numpy as np, mne
 *
 *     def export_bundle(epochs_by_subject, out_dir, image_column="image_id", name="things-meg"):
 *         os.makedirs(out_dir, exist_ok=True)
 *         first = next(iter(epochs_by_subject.values()))
 *         picks = mne.pick_types(first.info, meg=True, ref_meg=False)
 *         chs = [first.info["chs"][i] for i in picks]
 *         types = first.get_channel_types(picks=picks)
 *         unit = {"mag": "T", "grad": "T/m"}
 *         xyz = np.array([ch["loc"][:3] for ch in chs])       # device frame: x right, y nose, z up
 *         xyz = xyz - xyz.mean(axis=0)                         # rough helmet centre
 *         theta = np.arccos(xyz[:, 2] / np.linalg.norm(xyz, axis=1))
 *         phi = np.arctan2(xyz[:, 1], xyz[:, 0])
 *         xy = np.c_[theta * np.cos(phi), theta * np.sin(phi)]
 *         xy /= np.abs(xy).max()                               # azimuthal projection onto [-1, 1]
 *         manifest = {"format": "neurorx.meg-bundle", "version": 1, "name": name,
 *                     "sampleRate": first.info["sfreq"],
 *                     "channels": [{"label": ch["ch_name"], "type": t, "unit": unit[t]} for ch, t in zip(chs, types)],
 *                     "positions": [{"x": float(x), "y": float(y)} for x, y in xy],
 *                     "subjects": []}
 *         for sid, ep in epochs_by_subject.items():
 *             data = ep.get_data(picks=picks)                  # epochs x channels x times
 *             data.transpose(0, 2, 1).astype("<f4").tofile(os.path.join(out_dir, f"{sid}.f32"))
 *             manifest["subjects"].append({"id": str(sid), "file": f"{sid}.f32",
 *                 "samples": data.shape[2], "onset": int(np.argmin(np.abs(ep.times))),
 *                 "images": [str(v) for v in ep.metadata[image_column]]})
 *         with open(os.path.join(out_dir, "manifest.json"), "w") as f:
 *             json.dump(manifest, f)
 *
 *     # e.g. export_bundle({"P1": mne.read_epochs("preprocessed_P1-epo.fif")}, "things-meg-bundle")
 *
 * Errors name the file and the field (`manifest.json: subjects.0.onset: ...`,
 * `P1.f32: expected 3465840 bytes (360 epochs x 241 samples x 10 channels x 4), got 3465800`).
 */

export const MEG_BUNDLE_FORMAT = 'neurorx.meg-bundle';
const MANIFEST = 'manifest.json';

const channelType = z.enum(['eeg', 'meg', 'mag', 'grad', 'eog', 'emg', 'ecg', 'stim', 'resp', 'misc']);

const manifestSchema = z
  .object({
    format: z.literal(MEG_BUNDLE_FORMAT),
    version: z.literal(1),
    name: z.string().min(1),
    sampleRate: z.number().positive(),
    channels: z.array(z.object({ label: z.string().min(1), type: channelType, unit: z.string() }).strict()).min(1),
    positions: z.array(z.object({ x: z.number(), y: z.number() }).strict()),
    subjects: z.array(
      z
        .object({
          id: z.string().min(1),
          file: z
            .string()
            .min(1)
            .refine((f) => path.basename(f) === f && f !== '.' && f !== '..', 'must be a file name inside the bundle folder'),
          samples: z.number().int().min(1),
          onset: z.number().int().min(0),
          images: z.array(z.string().min(1)),
        })
        .strict(),
    ),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.positions.length !== m.channels.length) ctx.addIssue({ code: 'custom', path: ['positions'], message: `expected one per channel (${m.channels.length}), got ${m.positions.length}` });
    const ids = new Map<string, number>();
    const files = new Map<string, number>();
    m.subjects.forEach((s, i) => {
      if (s.onset >= s.samples) ctx.addIssue({ code: 'custom', path: ['subjects', i, 'onset'], message: `must be below samples (${s.samples}), got ${s.onset}` });
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['subjects', i, 'id'], message: `duplicate subject id "${s.id}" (first at subjects.${ids.get(s.id)})` });
      else ids.set(s.id, i);
      if (files.has(s.file)) ctx.addIssue({ code: 'custom', path: ['subjects', i, 'file'], message: `"${s.file}" is already used by subjects.${files.get(s.file)}` });
      else files.set(s.file, i);
    });
  });

export type MegBundleManifest = z.infer<typeof manifestSchema>;

export class MegBundleError extends Error {
  override name = 'MegBundleError';
}

/** Reads a neurorx MEG bundle folder (see above). */
export async function readMegBundle(dir: string): Promise<MegDataset> {
  const manifestPath = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new MegBundleError(`${manifestPath}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MegBundleError(`${manifestPath}: not valid JSON: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new MegBundleError(`${manifestPath}: invalid MEG bundle manifest\n${issueLines(parsed.error)}`);
  const m = parsed.data;
  const nch = m.channels.length;
  const subjects: MegSubject[] = [];
  for (const [i, s] of m.subjects.entries()) {
    const file = path.join(dir, s.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new MegBundleError(`${file}: cannot read (manifest subjects.${i}.file): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const per = s.samples * nch;
    const expected = s.images.length * per * 4;
    if (bytes.byteLength !== expected) {
      throw new MegBundleError(`${file}: expected ${expected} bytes (${s.images.length} epochs x ${s.samples} samples x ${nch} channels x 4, manifest subjects.${i}), got ${bytes.byteLength}`);
    }
    const values = float32LittleEndian(bytes);
    for (let k = 0; k < values.length; k++) {
      if (!Number.isFinite(values[k])) {
        const epoch = Math.floor(k / per);
        const within = k % per;
        throw new MegBundleError(`${file}: epoch ${epoch} (image "${s.images[epoch]}"), sample ${Math.floor(within / nch)}, channel ${m.channels[within % nch].label}: value is ${values[k]}`);
      }
    }
    const epochs: ImageEpoch[] = s.images.map((imageId, e) => ({ imageId, data: values.subarray(e * per, (e + 1) * per), samples: s.samples, onset: s.onset }));
    subjects.push({ id: s.id, epochs });
  }
  return { name: m.name, channels: m.channels, positions: m.positions, sampleRate: m.sampleRate, subjects };
}

/**
 * Writes `dataset` as a bundle into `dir` (created if needed): manifest.json and one
 * `<subject id>.f32` per subject (unsafe characters of the id replaced by "_").
 */
export async function writeMegBundle(dataset: MegDataset, dir: string): Promise<void> {
  const nch = dataset.channels.length;
  if (dataset.positions.length !== nch) throw new MegBundleError(`MEG bundle: ${dataset.positions.length} positions for ${nch} channels`);
  const used = new Set<string>();
  const subjects: MegBundleManifest['subjects'] = [];
  const files: { name: string; data: Float32Array }[] = [];
  dataset.subjects.forEach((s) => {
    const first = s.epochs[0];
    const samples = first?.samples ?? 1;
    const onset = first?.onset ?? 0;
    s.epochs.forEach((ep, e) => {
      if (ep.samples !== samples || ep.onset !== onset) {
        throw new MegBundleError(
          `MEG bundle: subject "${s.id}" epoch ${e}: ${ep.samples} samples / onset ${ep.onset}, the subject's first epoch has ${samples} / ${onset} (a bundle needs one epoch length per subject)`,
        );
      }
      if (ep.data.length !== samples * nch) throw new MegBundleError(`MEG bundle: subject "${s.id}" epoch ${e}: ${ep.data.length} values, expected ${samples} x ${nch}`);
    });
    let name = `${s.id.replace(/[^A-Za-z0-9._-]/g, '_')}.f32`;
    if (name.startsWith('.')) name = `_${name}`;
    for (let k = 2; used.has(name); k++) name = `${s.id.replace(/[^A-Za-z0-9._-]/g, '_')}-${k}.f32`;
    used.add(name);
    const data = new Float32Array(s.epochs.length * samples * nch);
    s.epochs.forEach((ep, e) => data.set(ep.data, e * samples * nch));
    files.push({ name, data });
    subjects.push({ id: s.id, file: name, samples, onset, images: s.epochs.map((ep) => ep.imageId) });
  });
  const manifest: MegBundleManifest = {
    format: MEG_BUNDLE_FORMAT,
    version: 1,
    name: dataset.name,
    sampleRate: dataset.sampleRate,
    channels: dataset.channels.map((c) => ({ label: c.label, type: c.type, unit: c.unit })),
    positions: dataset.positions.map((p) => ({ x: p.x, y: p.y })),
    subjects,
  };
  await mkdir(dir, { recursive: true });
  for (const f of files) await writeFile(path.join(dir, f.name), littleEndianBytes(f.data));
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1));
}

function float32LittleEndian(bytes: Buffer): Float32Array {
  const n = bytes.byteLength / 4;
  const out = new Float32Array(n);
  if (endianness() === 'LE') {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}
