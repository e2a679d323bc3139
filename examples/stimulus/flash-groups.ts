// What a P300 page flashes: the items of its grid, one at a time or a row/column at a time, each
// flash named by the marker value the ERP pipeline's `selection.items` maps to the items it lit.

export interface FlashGroup {
  /** The marker value sent at the flash's onset. */
  readonly marker: string;
  /** Indices of the cells lit. */
  readonly cells: readonly number[];
}

/** The 6x6 speller's symbols. */
export const SPELLER = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ123456789_'];

/**
 * `single`: one flash per item, its marker the item itself; `rowcol`: one flash per row
 * (`row1`...) and per column (`col1`...) of a grid `cols` wide.
 */
export function flashGroups(items: readonly string[], cols: number, mode: 'single' | 'rowcol'): FlashGroup[] {
  if (mode === 'single') return items.map((item, i) => ({ marker: item, cells: [i] }));
  const rows = Math.ceil(items.length / cols);
  const groups: FlashGroup[] = [];
  for (let r = 0; r < rows; r++) groups.push({ marker: `row${r + 1}`, cells: items.map((_, i) => i).filter((i) => Math.floor(i / cols) === r) });
  for (let c = 0; c < cols; c++) groups.push({ marker: `col${c + 1}`, cells: items.map((_, i) => i).filter((i) => i % cols === c) });
  return groups;
}

/** The groups in a fresh random order (Fisher-Yates), never starting with `last` (no flash twice in a row). */
export function shuffled(groups: readonly FlashGroup[], last?: FlashGroup): FlashGroup[] {
  const out = [...groups];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (out.length > 1 && out[0] === last) [out[0], out[1]] = [out[1], out[0]];
  return out;
}
