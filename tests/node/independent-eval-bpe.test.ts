// Issue #18, GPT-2's vocabulary checked independently:
// (1) the lab's BPE tokenizer (src/data/bpe.ts, gpt-tokenizer's r50k_base) against an encoder
//     written from the algorithm's description (tests/python/gpt2_bpe.py): the same ids on the lab's
//     real English and code validation text and on seeded random pieces of it, the same UTF-8 length
//     for every token;
// (2) a checkpoint with GPT-2's 50,257-token vocabulary written as the hub publishes it (no
//     `transformer.` prefix, F16 weights, `attn.bias` causal-mask buffers), evaluated by the lab
//     (CPU engine, loadLabData's BPE windows) and by tests/python/eval_checkpoint.py (float64 numpy,
//     its own BPE) on the real en.val.bin: the same loss, perplexity, bits per token and per byte,
//     token and byte counts; then a 2:4 mask exported by the lab and applied by apply_mask.py.
// Tiny width (16), random weights scaled until the logits spread (so a transposed or misnamed
// weight, or one token off, shows).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import { CpuEngine } from '../../src/backend/cpu';
import { evalTextWindows, type TextBatch } from '../../src/data/batches';
import { gpt2Tokenizer } from '../../src/data/bpe';
import { encodeTextShard, parseShard, type TextShard } from '../../src/data/shards';
import { evaluateText, textInput } from '../../src/lab/evaluate';
import { loadLabData } from '../../src/lab/lab-data';
import { loadModel, readCheckpoint } from '../../src/models/checkpoint';
import type { GptConfig } from '../../src/models/config';
import { f32ToF16 } from '../../src/models/dtype';
import { gptParameterShapes } from '../../src/models/gpt';
import type { LabModel, ModelInput } from '../../src/models/model';
import { writeSafetensors, type StDType, type WriteTensor } from '../../src/models/safetensors';
import { exportMaskSafetensors } from '../../src/sparsity/maskfile';
import { disposeOverride, prunedOverride } from '../../src/sparsity/oneshot';
import { nodeAssets } from '../../tools/lib/node-assets';
import { effectiveMasks, MIN_MASK_EFFECT, relErr } from '../helpers/mask-search';
import { randint, randn, testSeed } from '../helpers/random';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PY_DIR = join(ROOT, 'tests/python');
// Debian's interpreter carries python3-numpy; a pyenv/venv python3 earlier on PATH may not.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface PyResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runPy(script: string, args: string[]): PyResult {
  const p = spawnSync(PYTHON, [join(PY_DIR, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.error)
    throw new Error(`cannot run ${PYTHON} (${p.error.message}): the independent evaluation needs Python 3 with numpy (Debian: python3, python3-numpy)`);
  if (p.status !== 0 && /No module named .?numpy/.test(p.stderr)) {
    throw new Error(`${PYTHON} has no numpy: the independent evaluation needs the Debian package python3-numpy`);
  }
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

function runPyJson<T = Record<string, number>>(script: string, args: string[]): T {
  const r = runPy(script, args);
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const dir = mkdtempSync(join(tmpdir(), 'indep-eval-bpe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EN_VAL = join(ROOT, 'public/data/en.val.bin');
const CODE_VAL = join(ROOT, 'public/data/code.val.bin');
const shardText = (path: string) => new TextDecoder('utf-8', { fatal: true }).decode((parseShard(readFileSync(path)) as TextShard).bytes);

// ------------------------------------------------------------------------------------------------
// (1) the tokenizer

/** Hand-picked corners of GPT-2's pre-tokenizer pattern and of byte-level merges (no U+0085 / U+FEFF: gpt2_bpe.py's docstring). */
const CORNERS = [
  "don't we'll they're I've I'm she'd it's",
  "DON'T WE'LL (upper-case contractions are not split off)",
  "''s 's x's '' ' ",
  'two  spaces,   three, \t tab and space,\n\n\nnewlines  \n  mixed',
  'trailing spaces   ',
  '   leading spaces',
  ' ',
  '\n',
  'digits 1234567890 and 3.14159, -42, 1e10, ١٢٣ (Arabic-Indic), Ⅻ (Roman), ½ ² (other numbers)',
  'naïve café façade Ωmega Жук ǅemal straße',
  '日本語のテキスト、한국어 텍스트。',
  'emoji 🎉🎉 👍🏽 𝔘𝔫𝔦 — “quotes” ‘single’ … €£¥ © ™',
  'combining e\u0301 a\u0308 and zero\u200bwidth',
  'no\u00a0break\u2003em\u3000ideographic\u2028line',
  'a\r\nb\rc\fd\ve',
  '<|endoftext|> is plain text here',
  'aaaaaaaaaaaaaaaa                                ================ ________',
  'def f(x):\n    return {"k": [1, 2, 3]}  # comment\n\n\tif (a&&b||!c) { x->y; }\n',
];

/** Random stretches of the texts (whole code points, 1..300 of them) and pairs of stretches joined (new neighbours). */
function randomPieces(texts: string[], seed: number, count: number): string[] {
  const cps = texts.map((t) => Array.from(t));
  const r = randint(6 * count, seed, 2 ** 30);
  const out: string[] = [];
  const stretch = (k: number) => {
    const cp = cps[r[k] % cps.length];
    const len = 1 + (r[k + 1] % 300);
    const start = r[k + 2] % (cp.length - len);
    return cp.slice(start, start + len).join('');
  };
  for (let i = 0; i < count; i++) out.push(i % 2 ? stretch(6 * i) : stretch(6 * i) + stretch(6 * i + 3));
  return out;
}

describe("GPT-2 BPE: the lab's tokenizer vs the independent gpt2_bpe.py", () => {
  const seed = testSeed();

  it(`the same ids for the whole en/code validation texts, corner cases and 400 random pieces of them (seed ${seed})`, () => {
    const en = shardText(EN_VAL),
      code = shardText(CODE_VAL);
    const strings = [en, code, ...CORNERS, ...randomPieces([en, code], seed, 400)];
    const path = join(dir, 'strings.json');
    writeFileSync(path, JSON.stringify(strings));
    const py = runPyJson<{ ids: number[][] }>('gpt2_bpe.py', ['--strings', path]).ids;
    expect(py.length).toBe(strings.length);
    const differ: string[] = [];
    strings.forEach((s, i) => {
      const lab = Array.from(gpt2Tokenizer.encode(s));
      if (lab.length !== py[i].length || lab.some((t, j) => t !== py[i][j])) {
        const at = lab.findIndex((t, j) => t !== py[i][j]);
        differ.push(
          `string ${i} ${JSON.stringify(s.slice(0, 60))}: first difference at token ${at < 0 ? lab.length : at} (lab ${lab.length}, python ${py[i].length} tokens)`,
        );
      }
    });
    expect(differ).toEqual([]);
    // the whole texts really are BPE tokens (not bytes), none of them <|endoftext|> (gpt2_bpe.py checks that its tokens spell each string)
    expect(py[0].length).toBeLessThan(new TextEncoder().encode(en).length / 3);
    expect(py[0]).not.toContain(50256);
  });

  it('gpt2_bpe.py refuses a ranks file that is not the published r50k_base.tiktoken', () => {
    const ranks = readFileSync(join(ROOT, 'node_modules/gpt-tokenizer/data/r50k_base.tiktoken'), 'utf8').split('\n');
    [ranks[300], ranks[301]] = [ranks[301].replace(/ \d+$/, ' 300'), ranks[300].replace(/ \d+$/, ' 301')]; // two tokens' ranks swapped
    const path = join(dir, 'swapped.tiktoken');
    writeFileSync(path, ranks.join('\n'));
    const r = runPy('gpt2_bpe.py', ['--ranks', path, '--lengths']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SHA-256 [0-9a-f]{64} is not the published r50k_base\.tiktoken's/);
  });

  it('the same UTF-8 length for every token id (50256, <|endoftext|>: 0)', () => {
    const py = runPyJson<{ lengths: number[] }>('gpt2_bpe.py', ['--lengths']).lengths;
    expect(py.length).toBe(50257);
    expect(py[50256]).toBe(0);
    expect(Uint8Array.from(py)).toEqual(gpt2Tokenizer.byteLengths());
  });
});

// ------------------------------------------------------------------------------------------------
// (2) a GPT-2-vocabulary checkpoint in the hub's layout

const CONTEXT = 32;
const TINY: GptConfig = { kind: 'gpt2', vocabSize: 50257, nPositions: CONTEXT, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEps: 1e-5, tieWordEmbeddings: true };
/** untied head, n_inner set (not 4·16 = 64) */
const TINY_UNTIED: GptConfig = { ...TINY, tieWordEmbeddings: false, nInner: 40 };

/** config.json as a transformers save_pretrained of a float16 GPT-2 writes it (n_inner null unless set). */
function hubConfigJson(c: GptConfig): Record<string, unknown> {
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    bos_token_id: 50256,
    eos_token_id: 50256,
    layer_norm_epsilon: c.layerNormEps,
    model_type: 'gpt2',
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    n_inner: c.nInner ?? null,
    n_layer: c.nLayer,
    n_positions: c.nPositions,
    scale_attn_weights: true,
    ...(c.tieWordEmbeddings ? {} : { tie_word_embeddings: false }),
    torch_dtype: 'float16',
    vocab_size: c.vocabSize,
  };
}

interface HubLayout {
  /** dtype of the causal-mask buffers h.N.attn.bias [1, 1, P, P] (lower-triangular ones) */
  buffers: 'F32' | 'F16' | 'BOOL';
  /** also h.N.attn.masked_bias [] = -1e4 (older files) */
  maskedBias: boolean;
  /** a tied model's file also carries lm_head.weight = wte */
  tiedHead: boolean;
}

/** model.safetensors in the hub's layout: names without `transformer.`, F16 weights, the causal-mask buffers. */
function hubSafetensors(c: GptConfig, weights: Map<string, Float32Array>, o: HubLayout): Uint8Array {
  const P = c.nPositions;
  const f16 = (v: Float32Array) => Uint16Array.from(v, (x) => f32ToF16(x));
  const tensors: WriteTensor[] = [];
  for (const [name, shape] of gptParameterShapes(c))
    tensors.push({ name: name.replace(/^transformer\./, ''), dtype: 'F16', shape, data: f16(weights.get(name)!) });
  const tril = Float32Array.from({ length: P * P }, (_, i) => (i % P <= Math.floor(i / P) ? 1 : 0));
  const buffer: Record<HubLayout['buffers'], { dtype: StDType; data: ArrayBufferView }> = {
    F32: { dtype: 'F32', data: tril },
    F16: { dtype: 'F16', data: f16(tril) },
    BOOL: { dtype: 'BOOL', data: Uint8Array.from(tril) },
  };
  for (let i = 0; i < c.nLayer; i++) {
    tensors.push({ name: `h.${i}.attn.bias`, shape: [1, 1, P, P], ...buffer[o.buffers] });
    if (o.maskedBias) tensors.push({ name: `h.${i}.attn.masked_bias`, dtype: 'F32', shape: [], data: new Float32Array([-1e4]) });
  }
  if (o.tiedHead && c.tieWordEmbeddings)
    tensors.push({ name: 'lm_head.weight', dtype: 'F16', shape: [c.vocabSize, c.nEmbd], data: f16(weights.get('transformer.wte.weight')!) });
  return writeSafetensors(tensors, { format: 'pt' });
}

/**
 * Random weights with GPT-2's initialisation shape, made non-trivial: matrices N(0, (0.02·gain)²)
 * (residual projections ÷ √(2·layers)), LayerNorm gains 1 ± 0.2, biases ± 0.2. The unit-gain
 * matrices are drawn once (`base`), so trying another gain costs a multiplication.
 */
function randomWeights(c: GptConfig, seed: number): (gain: number) => Map<string, Float32Array> {
  const base = new Map<string, Float32Array>();
  let k = 0;
  for (const [name, shape] of gptParameterShapes(c)) {
    const n = shape.reduce((x, y) => x * y, 1);
    const noise = randn(n, seed + 101 * ++k);
    if (/ln_\w+\.weight$/.test(name))
      base.set(
        name,
        noise.map((x) => 1 + 0.2 * x),
      );
    else if (name.endsWith('.bias'))
      base.set(
        name,
        noise.map((x) => 0.2 * x),
      );
    else
      base.set(
        name,
        noise.map((x) => (name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02) * x),
      );
  }
  return (gain) => new Map([...base].map(([name, v]) => [name, /(ln_\w+\.weight|\.bias)$/.test(name) ? v : v.map((x) => gain * x)]));
}

/** Mean over rows of the standard deviation of the logits over the 50,257 tokens. */
async function logitSpread(model: LabModel, input: ModelInput): Promise<number> {
  const tape = new Tape(model.engine);
  const z = await model.engine.read(model.logits(tape, input).raw);
  tape.dispose();
  const rows = input.batch * (input.kind === 'text' ? input.context : 1);
  const k = z.length / rows;
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let m = 0,
      v = 0;
    for (let j = 0; j < k; j++) m += z[r * k + j] / k;
    for (let j = 0; j < k; j++) v += (z[r * k + j] - m) ** 2 / k;
    sum += Math.sqrt(v);
  }
  return sum / rows;
}

const MIN_SPREAD = 0.5;

interface HubModel {
  dir: string;
  model: LabModel;
  /** the canonical f32 weights the lab read from the file (F16-rounded) */
  weights: Map<string, Float32Array>;
}

/**
 * The hub-layout checkpoint of `config` in DIR/name, loaded by the lab, with the matrix gain raised
 * from ×20 until the logits spread beyond MIN_SPREAD on `probe` (made true here, asserted again in
 * the tests). The F16 file is what both sides read.
 */
async function spreadHubModel(name: string, config: GptConfig, seed: number, layout: HubLayout, probe: ModelInput): Promise<HubModel> {
  const weightsAt = randomWeights(config, seed);
  const configJson = hubConfigJson(config);
  for (let gain = 20; gain < 2000; gain *= 1.25) {
    const bytes = hubSafetensors(config, weightsAt(gain), layout);
    const model = loadModel(new CpuEngine(), { files: [{ name: 'model.safetensors', bytes }], config: configJson });
    if ((await logitSpread(model, probe)) > MIN_SPREAD) {
      const ck = join(dir, name);
      mkdirSync(ck, { recursive: true });
      writeFileSync(join(ck, 'model.safetensors'), bytes);
      writeFileSync(join(ck, 'config.json'), JSON.stringify(configJson, null, 2));
      return { dir: ck, model, weights: readCheckpoint({ safetensors: bytes, config: configJson }).weights };
    }
    model.dispose();
  }
  throw new Error(`no gain up to ×2000 spreads the logits beyond ${MIN_SPREAD} (seed ${seed})`);
}

/** The lab's validation windows of en.val.bin for a GPT-2-vocabulary model: BPE tokens, byte counts. */
async function labWindows(config: GptConfig, windows: number): Promise<TextBatch[]> {
  const data = await loadLabData(nodeAssets(join(ROOT, 'public')), config, { trainDomain: 'code', evalWindows: windows });
  return data.val.get('en') as TextBatch[];
}

function expectSameEval(lab: Awaited<ReturnType<typeof evaluateText>>, py: Record<string, number>, windows: number) {
  expect(py.tokens).toBe(windows * CONTEXT);
  expect(lab.tokens).toBe(py.tokens);
  expect(lab.bytes).toBe(py.bytes);
  expect(py.bytes).toBeGreaterThan(2 * py.tokens); // BPE tokens: several bytes each
  expect(relErr(lab.loss, py.loss), `lab ${lab.loss} python ${py.loss}`).toBeLessThan(1e-5);
  expect(relErr(lab.ppl, py.ppl)).toBeLessThan(1e-5);
  expect(relErr(lab.bitsPerToken, py.bits_per_token)).toBeLessThan(1e-5);
  expect(relErr(lab.bitsPerByte!, py.bits_per_byte), `lab ${lab.bitsPerByte} python ${py.bits_per_byte}`).toBeLessThan(1e-5);
}

describe('GPT-2-vocabulary checkpoint in the hub layout: lab (CPU engine) vs eval_checkpoint.py on en.val.bin', () => {
  const seed = testSeed();
  // Few windows: the CPU engine's logits cost ~7 ms per target with 50,257 tokens. The lab evaluates
  // the 8 windows as one batch, Python in batches of 3 + 3 + 2.
  const WINDOWS = 8;
  const MASK_WINDOWS = 2;
  const maskPath = join(dir, 'bpe-mask.safetensors');
  let tied: HubModel, windows: TextBatch[], few: TextBatch[], probe: ModelInput;
  let masks: Map<string, Uint8Array>, siteWeights: Map<string, Float32Array>;

  beforeAll(async () => {
    windows = await labWindows(TINY, WINDOWS);
    // the first windows again, straight from the tokenizer (the cheap way to a second cap)
    const tokens = gpt2Tokenizer.encode(shardText(EN_VAL));
    few = evalTextWindows(tokens, CONTEXT, MASK_WINDOWS, gpt2Tokenizer.byteLengths());
    probe = textInput(evalTextWindows(tokens, CONTEXT, 1)[0]);
    tied = await spreadHubModel('tied', TINY, seed, { buffers: 'F32', maskedBias: true, tiedHead: true }, probe);
    ({ masks, siteWeights } = await effectiveMasks(tied.model, tied.weights, seed, async (o) => (await evaluateText(tied.model, few, o)).loss));
    writeFileSync(
      maskPath,
      exportMaskSafetensors(
        tied.model.maskSites.map((s) => ({ name: s.name, shape: s.shape, layout: s.layout, mask: masks.get(s.name)! })),
        { n: 2, m: 4, model: 'tiny-gpt2-vocab' },
      ),
    );
  }, 120_000);
  afterAll(() => tied?.model.dispose());

  it(`dense, tied head (+ a tied lm_head.weight copy), F16, F32 attn.bias + masked_bias buffers: same loss, ppl, bits per token and byte, counts (seed ${seed})`, async () => {
    expect(windows.map((b) => b.batch)).toEqual([WINDOWS]);
    expect(windows[0].inputs.subarray(0, MASK_WINDOWS * CONTEXT)).toEqual(few[0].inputs);
    const lab = await evaluateText(tied.model, windows);
    const py = runPyJson('eval_checkpoint.py', [
      '--checkpoint',
      tied.dir,
      '--data',
      EN_VAL,
      '--context',
      String(CONTEXT),
      '--max-windows',
      String(WINDOWS),
      '--batch',
      '3',
    ]);
    expect((py as unknown as { tokenizer: string }).tokenizer).toBe('gpt2'); // chosen from vocab_size 50257
    expect(await logitSpread(tied.model, probe)).toBeGreaterThan(MIN_SPREAD);
    expectSameEval(lab, py, WINDOWS);
  });

  it(`2:4 mask exported by the lab and applied by apply_mask.py: same loss (first ${MASK_WINDOWS} windows) (seed ${seed})`, async () => {
    const override = prunedOverride(tied.model, masks, siteWeights);
    const lab = await evaluateText(tied.model, few, override);
    disposeOverride(override);
    const dense = await evaluateText(tied.model, few);
    const py = runPyJson('eval_checkpoint.py', [
      '--checkpoint',
      tied.dir,
      '--mask',
      maskPath,
      '--data',
      EN_VAL,
      '--context',
      String(CONTEXT),
      '--max-windows',
      String(MASK_WINDOWS),
      '--tokenizer',
      'gpt2',
    ]);
    expect(relErr(lab.loss, dense.loss), 'the mask must change the loss').toBeGreaterThan(MIN_MASK_EFFECT);
    expectSameEval(lab, py, MASK_WINDOWS);
    const summary = runPyJson('apply_mask.py', ['--checkpoint', tied.dir, '--mask', maskPath]);
    expect(summary).toMatchObject({ n: 2, m: 4, weights: tied.model.maskSites.length });
    expect(summary.kept * 2).toBe(summary.total);
  });

  it(`dense, untied lm_head.weight and n_inner 40, F16, BOOL attn.bias buffers: same loss, ppl, bits, counts (seed ${seed})`, async () => {
    const W = MASK_WINDOWS; // the same BPE windows: same vocabulary and context
    const untied = await spreadHubModel('untied', TINY_UNTIED, seed + 1, { buffers: 'BOOL', maskedBias: false, tiedHead: false }, probe);
    try {
      expect(untied.weights.has('lm_head.weight')).toBe(true);
      expect(untied.weights.get('transformer.h.0.mlp.c_fc.weight')!.length).toBe(16 * 40);
      const lab = await evaluateText(untied.model, few);
      const py = runPyJson('eval_checkpoint.py', [
        '--checkpoint',
        untied.dir,
        '--data',
        EN_VAL,
        '--context',
        String(CONTEXT),
        '--max-windows',
        String(W),
        '--batch',
        '2',
      ]);
      expect(await logitSpread(untied.model, probe)).toBeGreaterThan(MIN_SPREAD);
      expectSameEval(lab, py, W);
    } finally {
      untied.model.dispose();
    }
  });

  it('refuses a tokenizer that does not fit the vocabulary, an unknown vocabulary size, and text that is not UTF-8', () => {
    const bytes = runPy('eval_checkpoint.py', ['--checkpoint', tied.dir, '--data', EN_VAL, '--context', '8', '--tokenizer', 'bytes']);
    expect(bytes.status).toBe(2);
    expect(bytes.stderr).toMatch(/--tokenizer bytes needs vocab_size 256 or less, the checkpoint's is 50257/);
    const other = join(dir, 'vocab-50304');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'config.json'), JSON.stringify({ ...hubConfigJson(TINY), vocab_size: 50304 }));
    const odd = runPy('eval_checkpoint.py', ['--checkpoint', other, '--data', EN_VAL, '--context', '8']);
    expect(odd.status).toBe(2);
    expect(odd.stderr).toMatch(/vocab_size 50304 has no tokenizer/);
    const latin1 = join(dir, 'latin1.bin');
    writeFileSync(latin1, encodeTextShard(Uint8Array.from({ length: 100 }, (_, i) => (i % 10 === 5 ? 0xe9 : 0x61))));
    const bad = runPy('eval_checkpoint.py', ['--checkpoint', tied.dir, '--data', latin1, '--context', '8']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/not valid UTF-8/);
  });
});
