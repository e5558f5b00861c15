// Section 8: storage. The real byte sizes of each mask file format as exported by the session
// (mask.safetensors: one U8 per weight; mask.packed: base-C candidate indices, as many per u32 as
// fit, after a JSON header; the resumable state: logits and Adam moments) for the learned masks of
// section 7 (first seed), in bits per masked weight, against the bound log2(C(M,N)) / M. The packed
// file's header and payload lengths are read from its own prefix (bytes 12–20), so the fixed header
// cost and the payload's rounding to whole u32 words are reported apart.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digitsPerWord } from '../../../src/sparsity/maskfile';
import { bitsPerWeight, nmPattern } from '../../../src/sparsity/patterns';
import { runList } from '../configs';
import { direction, pct, table } from '../markdown';
import { fmt } from '../stats';
import type { Section } from '../types';
import { PATTERNS, patternRun } from './patterns';

/** The packed payload's ideal: base-C digits, `digitsPerWord` per u32 → 32 / (digits · M) bits per weight. */
export const packedWordBits = (n: number, m: number): number => 32 / (digitsPerWord(nmPattern(n, m).candidates.length) * m);

/** Header and payload bytes of a packed mask file (its prefix: u32 header bytes at 12, payload bytes at 16). */
export function packedSplit(bytes: Uint8Array): { header: number; payload: number } | null {
  if (bytes.length < 24 || new TextDecoder().decode(bytes.subarray(0, 8)) !== 'MLLMPACK') return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { header: 24 + v.getUint32(12, true), payload: v.getUint32(16, true) };
}

/** Slack for whole words at the end of the stream (a few bytes over 10^5 weights). */
const WORD_SLACK = 0.005;

export const storage: Section = {
  id: 8,
  key: 'storage',
  title: 'Storage: bits per weight of each mask file format',
  runs: (o) => PATTERNS.map(([n, m]) => patternRun(o, n, m, o.seeds[0])),
  report(o, store) {
    const found = PATTERNS.map(([n, m]) => ({ def: patternRun(o, n, m, o.seeds[0]), rec: store.get(patternRun(o, n, m, o.seeds[0])) }));
    const rows = found.map(({ rec }, i) => {
      const [n, m] = PATTERNS[i];
      const masked = rec?.model?.maskedWeights ?? Number.NaN;
      const bits = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : (8 * bytes) / masked);
      const file = rec ? join(rec.dir, 'mask.packed') : '';
      const split = file && existsSync(file) ? packedSplit(new Uint8Array(readFileSync(file))) : null;
      return {
        n,
        m,
        masked,
        bound: bitsPerWeight(nmPattern(n, m)),
        word: packedWordBits(n, m),
        payload: bits(split?.payload),
        header: split?.header ?? Number.NaN,
        packed: bits(rec?.files.packed),
        safetensors: bits(rec?.files.safetensors),
        state: bits(rec?.files.state),
      };
    });
    const lines: string[] = [
      `File sizes of the learned masks of section 7 (seed ${o.seeds[0]}) as the session exports them, in bits per masked weight (masked weights from model.json). The resumable state is exported to measure it but not kept (tens of MB for 4:8). The packed payload stores ${'`'}digits${'`'} base-C candidate indices per u32, so its ideal is 32 / (digits · M) bits per weight.`,
      '',
      ...table(
        [
          'pattern',
          'masked weights',
          'bound log2(C(M,N))/M',
          'u32 word ideal',
          'packed payload',
          'packed header (bytes)',
          'mask.packed file',
          'mask.safetensors file',
          'resumable state',
        ],
        rows.map((r) => [
          `${r.n}:${r.m}`,
          Number.isFinite(r.masked) ? String(r.masked) : '—',
          fmt(r.bound, 3),
          fmt(r.word, 3),
          fmt(r.payload, 3),
          Number.isFinite(r.header) ? String(r.header) : '—',
          fmt(r.packed, 3),
          fmt(r.safetensors, 2),
          fmt(r.state, 1),
        ]),
      ),
    ];
    const measured = rows.filter((r) => Number.isFinite(r.payload));
    const atBound = measured.filter((r) => r.payload >= r.bound && r.payload <= r.word * (1 + WORD_SLACK));
    const r24 = rows.find((r) => r.n === 2 && r.m === 4)!;
    const worst = measured.reduce<(typeof rows)[number] | null>((w, r) => (!w || r.payload / r.bound > w.payload / w.bound ? r : w), null);
    lines.push(
      ...direction(`A learned mask needs log2(C(M,N))/M bits per weight (2:4 → ${fmt(r24.bound, 3)}), far below a byte-per-weight mask.`, [
        measured.length
          ? `${atBound.length === measured.length ? '**shown**' : atBound.length ? '**mixed**' : '**not shown**'}: the packed payload sits between the bound and its u32 word rounding for ${atBound.length} of ${measured.length} patterns; 2:4 stores ${fmt(r24.payload, 3)} bits per weight in the payload (${pct(r24.payload / r24.bound - 1, 1)} over the bound) and ${fmt(r24.packed, 3)} in the whole file (a ${fmt(r24.header, 0)}-byte header, fixed per file, so it weighs less on a larger model).${worst ? ` The largest excess is ${worst.n}:${worst.m}'s, ${pct(worst.payload / worst.bound - 1, 1)}: ${digitsPerWord(nmPattern(worst.n, worst.m).candidates.length)} base-${nmPattern(worst.n, worst.m).candidates.length} digits per u32.` : ''}`
          : 'no data yet (the packed files of section 7 are missing).',
        `mask.safetensors keeps one byte per weight: ${fmt(r24.safetensors, 2)} bits per weight for 2:4, ${fmt(r24.safetensors / r24.packed, 1)}× the packed file; the resumable state takes ${fmt(r24.state, 0)} bits per weight (three f32 per candidate: logits and two Adam moments).`,
      ]),
      `Runs: ${runList(found)}.`,
      '',
    );
    return { lines, charts: [] };
  },
};
