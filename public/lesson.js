// Drives the two labs of lesson.html through the embed client helper. Plain JavaScript served as a
// static file (public/), so it works under CSP script-src 'self' with no build step.

/**
 * The client entry: built at /embed/client.js; the Vite dev server has no such file and serves the
 * TypeScript source instead. Probe first rather than import and catch: a failed module import logs
 * an error in the console (in dev the missing file comes back as the lab's index.html, 200 text/html).
 */
async function loadClient() {
  let built = false;
  try {
    const r = await fetch('/embed/client.js', { cache: 'no-store' });
    built = r.ok && /javascript/.test(r.headers.get('content-type') ?? '');
  } catch {
    // offline or blocked: try the dev path
  }
  return import(built ? '/embed/client.js' : '/src/embed/client.ts');
}

// Short runs so that the curves appear within minutes on a laptop; everything else is the default.
const COMMON = 'v=1&model=tiny-gpt&embed=1&steps=120&evalEvery=40&hide=selftest,adapter';

/**
 * The query of one lab: COMMON, then any setting given in the lesson's own URL (e.g.
 * /lesson.html?steps=20&batch=2 for a quicker run; the lab checks every value and shows warnings),
 * then the lab's own settings (data-query), which the lesson is about and so always win.
 */
function labQuery(extra) {
  const q = new URLSearchParams(COMMON);
  for (const [k, v] of new URLSearchParams(location.search)) q.set(k, v);
  for (const [k, v] of new URLSearchParams(extra ?? '')) q.set(k, v);
  return q.toString();
}

const PHASES = { loading: 'loading the model', baselines: 'one-shot baselines', learning: 'learning', evaluating: 'final evaluation' };

const fmt = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : String(x));

function drawCurves(svg, rows, totalSteps) {
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  const line = (key, cls, color) => {
    // the first step has no previous mask, so its mask difference is NaN: leave that point out
    const pts = rows
      .filter((r) => Number.isFinite(r[key]))
      .map((r) => `${((r.step / Math.max(1, totalSteps)) * 300).toFixed(1)},${(100 - Math.min(1, Math.max(0, r[key])) * 100).toFixed(1)}`);
    if (pts.length === 0) return;
    const p = document.createElementNS(ns, 'polyline');
    p.setAttribute('points', pts.join(' '));
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', color);
    p.setAttribute('stroke-width', '1.5');
    p.setAttribute('vector-effect', 'non-scaling-stroke');
    p.setAttribute('class', cls);
    svg.appendChild(p);
  };
  // Both quantities live in [0, 1]: mask difference is a mean |Δm|, max probability a probability.
  line('meanMaskL1', 'l1', '#c0392b');
  line('meanMaxProb', 'mp', '#1f6fb2');
}

async function connect(LabClient, section) {
  const iframe = section.querySelector('iframe');
  const svg = section.querySelector('svg');
  const status = section.querySelector('.status');
  iframe.src = `/?${labQuery(iframe.dataset.query)}`;
  // Commands wait for their result: run() first loads the model and computes the baselines.
  const lab = await LabClient.attach(iframe, location.origin, { readyTimeoutMs: 120_000, commandTimeoutMs: 600_000 });
  const rows = [];
  let total = 0;
  let lastEval = '';
  let phase = '';
  let finished = false;
  // data-state / data-step: for scripts and tests watching the lesson (ready, running, done, error).
  const setState = (s) => {
    section.dataset.state = s;
  };
  const show = () => {
    const r = rows[rows.length - 1];
    status.classList.remove('error');
    // a metrics row's `step` is 0-based (the step that took the mask from k to k + 1): show steps taken
    section.dataset.step = String(r ? r.step + 1 : 0);
    status.textContent =
      (r
        ? `step ${r.step + 1}/${total}  κ=${fmt(r.kappa)}  τ=${fmt(r.tau)}\nmask difference ${fmt(r.meanMaskL1)}  max probability ${fmt(r.meanMaxProb)}`
        : `${phase || 'ready'} (${total} steps)`) +
      lastEval +
      (finished ? '\ndone' : '');
    drawCurves(svg, rows, total);
  };
  lab.on('progress', (p) => {
    if (p.phase === 'learning') total = p.total;
    phase = p.total > 0 && p.phase !== 'learning' ? `${PHASES[p.phase] ?? p.phase} ${Math.round((100 * p.done) / p.total)}%` : PHASES[p.phase] ?? p.phase;
    if (!finished) setState('running');
    show();
  });
  lab.on('metrics', (d) => {
    rows.push(...d.rows);
    show();
  });
  lab.on('evaluation', (ev) => {
    const en = ev.metrics.en ?? ev.metrics.val;
    lastEval = en ? `\nhard-mask validation loss ${fmt(en.loss)} at step ${ev.step}` : '';
    section.dataset.evaluations = String(Number(section.dataset.evaluations ?? 0) + 1);
    show();
  });
  lab.on('error', (e) => {
    setState('error');
    status.classList.add('error');
    status.textContent = `error: ${e.message}`;
  });
  lab.on('done', () => {
    finished = true;
    setState('done');
    show();
  });
  const state = await lab.getState();
  // Before the model is loaded the session has no step count yet: the configuration has it.
  total = state.totalSteps || state.config.steps;
  setState('ready');
  show();
  const clear = () => {
    rows.length = 0;
    lastEval = '';
    phase = '';
    finished = false;
    delete section.dataset.evaluations;
    setState('ready');
    show();
  };
  return { lab, reset: clear };
}

async function main() {
  const global = document.getElementById('global-status');
  let LabClient;
  try {
    ({ LabClient } = await loadClient());
  } catch (e) {
    global.textContent = `Could not load the embed client: ${e.message}`;
    return;
  }
  let labs;
  try {
    labs = await Promise.all([...document.querySelectorAll('section.lab')].map((s) => connect(LabClient, s)));
  } catch (e) {
    global.textContent = `A lab did not start: ${e.message}`;
    return;
  }
  global.textContent = 'Both labs are ready.';
  // Each button sends its command to both labs and says on the page what came of it.
  const all = (busyText, doneText, f) => async () => {
    global.textContent = busyText;
    global.classList.remove('error');
    try {
      await Promise.all(labs.map(f));
      global.textContent = doneText;
    } catch (e) {
      global.textContent = e.message;
      global.classList.add('error');
    }
  };
  const buttons = {
    run: all('Starting both runs (the first run loads the model)…', 'Both labs are learning.', ({ lab }) => lab.run()),
    pause: all('Pausing…', 'Both labs are paused.', ({ lab }) => lab.pause()),
    step: all('One step in each lab…', 'Both labs took one step.', ({ lab }) => lab.step()),
    reset: all('Resetting…', 'Both labs start over from step 0.', async (l) => {
      await l.lab.reset();
      l.reset();
    }),
  };
  for (const [id, f] of Object.entries(buttons)) {
    const b = document.getElementById(id);
    b.disabled = false;
    b.addEventListener('click', f);
  }
}

main();
