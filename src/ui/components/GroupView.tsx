// One group, up close: the m frozen weights of one group, its C(m, n) candidate masks with their
// logits π, softmax(κπ), one Gumbel-softmax draw at τ (noise, soft sample, hard choice) and the
// soft mask it puts on each weight; sliders for κ and τ and a resample button show what the sampler
// does to this group even without learning. The history charts each candidate's probability over
// the steps seen (flips of the learned choice marked). Click a cell in the layer map (MaskView.tsx) to
// pick a group; with the layer map hidden (hide=mask, a lesson showing only this view) a layer and
// group number picker takes its place.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { GroupData } from '../../sparsity/group-view';
import { groupNoise, sampleGroup } from '../../sparsity/group-view';
import { nmPattern, type Pattern } from '../../sparsity/patterns';
import { useLab } from '../../state/store';
import { useShown } from '../use-shown';
import { PALETTE } from './MaskView';

/** κ and τ sliders move on a log scale between these bounds. */
const KAPPA = { min: 0.1, max: 1000 };
const TAU = { min: 0.01, max: 10 };
const HISTORY = 400;
/** the group view refreshes at most this often while learning (ms) */
const REFRESH_MS = 1000;

const toSlider = (v: number, r: { min: number; max: number }) => (1000 * Math.log(v / r.min)) / Math.log(r.max / r.min);
const fromSlider = (s: number, r: { min: number; max: number }) => r.min * (r.max / r.min) ** (s / 1000);
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

interface HistoryPoint {
  step: number;
  probs: number[];
  choice: number;
}

export function GroupView() {
  const model = useLab((s) => s.model);
  const loaded = useLab((s) => s.loaded);
  const selected = useLab((s) => s.selectedGroup);
  const fetchGroup = useLab((s) => s.groupView);
  const step = useLab((s) => s.run.step);
  const state = useLab((s) => s.run.state);
  const [data, setData] = useState<GroupData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [kappa, setKappa] = useState<number | null>(null);
  const [tau, setTau] = useState<number | null>(null);
  const [draw, setDraw] = useState(0);
  const [history, setHistory] = useState<HistoryPoint[]>([]);
  const last = useRef(0);
  const available = !!model && !!loaded && state !== 'loading' && state !== 'idle';
  // memoized: a new object per render would recompute the sample below on every step (the store's step changes it)
  const p: Pattern | null = useMemo(() => (loaded ? nmPattern(loaded.n, loaded.m) : null), [loaded]);
  const key = `${selected.site}:${selected.group}`;
  const mapShown = useShown().panel('mask');

  // a new group or a new model: its own history, the run's κ and τ again
  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setHistory([]);
    setKappa(null);
    setTau(null);
  }, [key, model]);

  // fetch on a new selection, on each step (at most once a second while learning) and on pause
  useEffect(() => {
    if (!available) return;
    const now = performance.now();
    if (state === 'running' && now - last.current < REFRESH_MS && data?.site === model?.sites[selected.site]?.name && data?.group === selected.group) return;
    last.current = now;
    let cancelled = false;
    fetchGroup(selected.site, selected.group).then(
      (d) => {
        if (cancelled) return;
        setData(d);
        setError(null);
        if (d.logits && p) {
          const probs = sampleGroup(d.logits, p, d.kappa, 1, new Array(p.candidates.length).fill(0)).probs;
          const choice = d.logits.indexOf(Math.max(...d.logits));
          setHistory((h) => (h.length && h[h.length - 1].step === d.step ? h : [...h, { step: d.step, probs, choice }].slice(-HISTORY)));
        }
      },
      (e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      cancelled = true;
    };
  }, [available, key, step, state]); // eslint-disable-line react-hooks/exhaustive-deps

  const k = kappa ?? data?.kappa ?? 1;
  const t = tau ?? data?.tau ?? 1;
  const C = p?.candidates.length ?? 0;
  const logits = useMemo(() => data?.logits ?? (C ? new Array<number>(C).fill(0) : null), [data, C]);
  const sample = useMemo(() => (p && logits ? sampleGroup(logits, p, k, t, groupNoise(p, draw)) : null), [p, logits, k, t, draw]);
  const resample = useCallback(() => setDraw((d) => d + 1), []);
  const runValues = useCallback(() => {
    setKappa(null);
    setTau(null);
  }, []);

  // The body is rendered only when what it shows changes. This component re-renders on every
  // learning step (it watches the step to refetch at most once a second); re-rendering the table,
  // the sliders and the history every step cost tens of ms of main-thread work per step.
  const body = useMemo(
    () =>
      available && data && p && sample ? (
        <GroupBody
          data={data}
          p={p}
          sample={sample}
          history={history}
          k={k}
          t={t}
          custom={kappa !== null || tau !== null}
          onKappa={setKappa}
          onTau={setTau}
          onResample={resample}
          onRunValues={runValues}
          mapShown={mapShown}
        />
      ) : null,
    [available, data, p, sample, history, k, t, kappa, tau, resample, runValues, mapShown],
  );

  return (
    <section className="panel panel-wide" aria-labelledby="group-title" data-testid="group-view">
      <div className="panel-head">
        <h2 id="group-title">One group, up close</h2>
      </div>
      {!available && <p className="chart-note">Load a model to see how one group of {loaded?.m ?? 4} weights is masked.</p>}
      {error && <p className="error-text small">{error}</p>}
      {available && !mapShown && model && <GroupPicker sites={model.sites} m={loaded?.m ?? 4} />}
      {body}
    </section>
  );
}

interface GroupBodyProps {
  data: GroupData;
  p: Pattern;
  sample: ReturnType<typeof sampleGroup>;
  history: HistoryPoint[];
  k: number;
  t: number;
  /** κ or τ set by the sliders (not the run's) */
  custom: boolean;
  onKappa: (v: number) => void;
  onTau: (v: number) => void;
  onResample: () => void;
  onRunValues: () => void;
  /** the layer map is on the page (its cells pick the group) */
  mapShown: boolean;
}

/** The group's weights, candidates, sample, sliders and history (GroupView decides when it re-renders). */
function GroupBody({ data, p, sample, history, k, t, custom, onKappa, onTau, onResample, onRunValues, mapShown }: GroupBodyProps) {
  const colors = p.candidates.map((_, c) => PALETTE[c % PALETTE.length]);
  return (
    <>
      <p className="small" data-testid="group-where">
        <span className="mono">{data.site}</span>, output {data.row}, inputs {data.col}–{data.col + p.m - 1} (group {data.group}) at step {data.step}.
        {mapShown ? ' Click a cell in the layer map below to pick another group.' : ''}
      </p>
      <div className="group-weights" aria-label="The group's weights" data-testid="group-weights">
        {data.weights.map((w, i) => (
          <div key={i} className="group-weight" data-testid="group-weight" data-value={w}>
            <span className="small">w{i}</span>
            <span className="mono">{w.toPrecision(4)}</span>
            <span className="small">× {sample.mask[i].toFixed(2)}</span>
          </div>
        ))}
      </div>
      <table className="group-table" data-testid="group-candidates">
        <thead>
          <tr>
            <th scope="col">candidate</th>
            <th scope="col" title="the learnable logit">
              π
            </th>
            <th scope="col" title="noise-free probability">
              softmax(κπ)
            </th>
            <th scope="col" title="Gumbel noise of this draw">
              noise g
            </th>
            <th scope="col" title="the soft sample softmax((κπ + g)/τ)">
              sample y
            </th>
          </tr>
        </thead>
        <tbody>
          {p.candidates.map((cand, c) => (
            <tr key={c} className={c === sample.hard ? 'group-hard' : undefined} data-testid="group-candidate">
              <th scope="row">
                <Pattern cand={cand} color={PALETTE[c % PALETTE.length]} />
                {c === sample.hard && <span title="the hard sample keeps this one"> ◀ drawn</span>}
                {data.logits && c === sample.choice && <span title="argmax π: kept when learning ends"> ★</span>}
              </th>
              <td className="mono">{data.logits ? fmt(data.logits[c]) : '—'}</td>
              <td>
                <Bar v={sample.probs[c]} color={PALETTE[c % PALETTE.length]} />
              </td>
              <td className="mono">{fmt(sample.noise[c])}</td>
              <td>
                <Bar v={sample.y[c]} color={PALETTE[c % PALETTE.length]} testid="group-y" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!data.logits && <p className="small">This run has no learnable logits (a one-shot method): the sampler below shows what equal logits do.</p>}
      <div className="group-controls" data-testid="group-controls">
        <LogSlider symbol="κ" value={k} range={KAPPA} onChange={onKappa} label="kappa: logit scale" testid="group-kappa" />
        <LogSlider symbol="τ" value={t} range={TAU} onChange={onTau} label="tau: temperature" testid="group-tau" />
        <button type="button" className="secondary" onClick={onResample} data-testid="group-resample">
          Resample
        </button>
        <button type="button" className="secondary" onClick={onRunValues} disabled={!custom}>
          The run&apos;s κ and τ
        </button>
      </div>
      <p className="small">
        κ scales the logits: with a small κ every candidate stays likely and the draws keep changing; with a large κ the largest logit wins every draw and the
        mask freezes. τ blurs each draw: a large τ averages the candidates (every weight kept by half), a small τ picks one candidate.
      </p>
      {history.length > 1 && <History points={history} colors={colors} />}
    </>
  );
}

interface LogSliderProps {
  symbol: string;
  value: number;
  range: { min: number; max: number };
  onChange: (v: number) => void;
  label: string;
  testid: string;
}

/** A slider over a logarithmic range (κ and τ span orders of magnitude). */
function LogSlider({ symbol, value, range, onChange, label, testid }: LogSliderProps) {
  return (
    <label>
      {symbol} = <span className="mono">{fmt(value)}</span>
      <input
        type="range"
        min={0}
        max={1000}
        value={Math.round(toSlider(value, range))}
        onChange={(e) => onChange(fromSlider(Number(e.target.value), range))}
        aria-label={label}
        data-testid={testid}
      />
    </label>
  );
}

/** A candidate as m little squares, kept ones filled. */
function Pattern({ cand, color }: { cand: Uint8Array; color: string }) {
  return (
    <svg width={cand.length * 12} height={12} role="img" aria-label={Array.from(cand, (v) => (v ? 'keep' : 'prune')).join(' ')}>
      {Array.from(cand, (v, i) => (
        <rect key={i} x={i * 12 + 1} y={1} width={10} height={10} fill={v ? color : 'white'} stroke={color} />
      ))}
    </svg>
  );
}

function Bar({ v, color, testid }: { v: number; color: string; testid?: string }) {
  return (
    <span className="group-bar" data-testid={testid} data-value={v}>
      <span style={{ width: `${Math.max(0, Math.min(1, v)) * 100}%`, background: color }} />
      <span className="mono small">{v.toFixed(3)}</span>
    </span>
  );
}

/** Each candidate's softmax(κπ) over the steps seen, stacked; ticks where the learned choice flipped. */
function History({ points, colors }: { points: HistoryPoint[]; colors: string[] }) {
  const W = 480;
  const H = 90;
  const s0 = points[0].step;
  const s1 = Math.max(points[points.length - 1].step, s0 + 1);
  const x = (s: number) => ((s - s0) / (s1 - s0)) * W;
  const C = colors.length;
  const areas = colors.map((_, c) => {
    const lo = points.map((p) => p.probs.slice(0, c).reduce((a, b) => a + b, 0));
    const hi = points.map((p, i) => lo[i] + p.probs[c]);
    const top = points.map((p, i) => `${x(p.step).toFixed(1)},${(H * (1 - hi[i])).toFixed(1)}`);
    const bottom = points.map((p, i) => `${x(p.step).toFixed(1)},${(H * (1 - lo[i])).toFixed(1)}`).reverse();
    return [...top, ...bottom].join(' ');
  });
  const flips = points.filter((p, i) => i > 0 && p.choice !== points[i - 1].choice);
  return (
    <figure className="group-history">
      <figcaption className="small">
        softmax(κπ) of each candidate over steps {s0}–{points[points.length - 1].step} (stacked); red ticks: the learned choice changed ({flips.length})
      </figcaption>
      {/* viewBox: narrower than W (max-width: 100%), the chart scales instead of being cut off */}
      <svg width={W} height={H + 4} viewBox={`0 0 ${W} ${H + 4}`} role="img" aria-label="Candidate probabilities over the steps" data-testid="group-history">
        {areas.slice(0, C).map((pts, c) => (
          <polygon key={c} points={pts} fill={colors[c]} opacity={0.85} />
        ))}
        {flips.map((p) => (
          <line key={p.step} x1={x(p.step)} x2={x(p.step)} y1={0} y2={H + 4} stroke="#d00" strokeWidth={1.5} />
        ))}
      </svg>
    </figure>
  );
}

/** Without the layer map (hide=mask): the layer and the group number, typed or chosen. */
function GroupPicker({ sites, m }: { sites: { name: string; shape: number[] }[]; m: number }) {
  const selected = useLab((s) => s.selectedGroup);
  const selectGroup = useLab((s) => s.selectGroup);
  const site = Math.min(selected.site, sites.length - 1);
  const groups = sites[site] ? (sites[site].shape[0] * sites[site].shape[1]) / m : 1;
  return (
    <div className="inline-controls group-picker" data-testid="group-picker">
      <label htmlFor="group-site">Layer</label>
      <select id="group-site" value={site} onChange={(e) => selectGroup(Number(e.target.value), 0)}>
        {sites.map((s, i) => (
          <option key={s.name} value={i}>
            {s.name}
          </option>
        ))}
      </select>
      <label htmlFor="group-number">Group</label>
      <input
        id="group-number"
        type="number"
        min={0}
        max={groups - 1}
        step={1}
        value={selected.group}
        onChange={(e) => {
          const g = Math.floor(Number(e.target.value));
          if (Number.isFinite(g) && g >= 0 && g < groups) selectGroup(site, g);
        }}
        data-testid="group-number"
      />
      <span className="small">of {groups.toLocaleString('en')}</span>
    </div>
  );
}
