// The ONE place that maps mask groups to weight elements.
//
// A group is m consecutive weights along the INPUT (reduction) dimension of one output row.
// 'out_in' is torch's Linear storage [out, in]: groups are runs of m along a row.
// 'in_out' is GPT-2's Conv1D storage [in, out]: groups run down a column (stride = out).
// Groups are numbered row-major over (output row, group within the row). The WGSL kernels
// (shaders/gumbel_mask.wgsl, fn elem) repeat exactly this arithmetic.

export type WeightLayout = 'out_in' | 'in_out';

export interface GroupLayout {
  layout: WeightLayout;
  /** Output features. */
  rows: number;
  /** Input features (the grouped dimension). */
  cols: number;
  m: number;
  /** rows · cols / m */
  groups: number;
}

export function groupLayout(shape: readonly number[], layout: WeightLayout, m: number): GroupLayout {
  if (layout !== 'out_in' && layout !== 'in_out') throw new Error(`groupLayout: unknown layout '${String(layout)}'`);
  if (shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`groupLayout: expected a 2-D weight shape of positive integers, got [${shape.join(', ')}]`);
  }
  if (!Number.isInteger(m) || m < 2) throw new Error(`groupLayout: bad group size m=${m}`);
  const [rows, cols] = layout === 'out_in' ? [shape[0], shape[1]] : [shape[1], shape[0]];
  if (cols % m !== 0) {
    throw new Error(
      `groupLayout: the input dimension (${cols}, dim ${layout === 'out_in' ? 1 : 0} of [${shape.join(', ')}] in layout ${layout}) is not a multiple of m=${m}`,
    );
  }
  return { layout, rows, cols, m, groups: (rows * cols) / m };
}

/** Flat index into the weight array of element k (0 ≤ k < m) of `group`. */
export function elementIndex(g: GroupLayout, group: number, k: number): number {
  const perRow = g.cols / g.m;
  const row = Math.floor(group / perRow);
  const col = (group % perRow) * g.m + k;
  return g.layout === 'out_in' ? row * g.cols + col : col * g.rows + row;
}

/** The weight's shape for a layout (inverse of groupLayout's reading). */
export function weightShape(g: GroupLayout): [number, number] {
  return g.layout === 'out_in' ? [g.rows, g.cols] : [g.cols, g.rows];
}
