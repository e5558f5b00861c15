// Drives the two labs of lesson.html through the embed client helper. Plain JavaScript served as a
// static file (public/), so it works under CSP script-src 'self' with no build step.

/** The client entry: built at /embed/client.js; the Vite dev server serves the TypeScript source. */
async function loadClient() {
  try {
    return await import('/embed/client.js');
  } catch {
    return await import('/src/embed/client.ts');
  }
}

// Short runs so that the curves appear within minutes on a laptop; everything else is the default.
const COMMON = 'v=1&model=tiny-gpt&embed=1&steps=120&evalEvery=40&hide=selftest,adapter';

const fmt = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : String(x));

function drawCurves(svg, rows, totalSteps) {
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  const line = (key, cls, color) => {
    const pts = rows.map((r) => `${((r.step / Math.max(1, totalSteps)) * 300).toFixed(1)},${(100 - Math.min(1, Math.max(0, r[key])) * 100).toFixed(1)}`);
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
  const extra = iframe.dataset.query;
  iframe.src = `/?${COMMON}${extra ? '&' + extra : ''}`;
  const lab = await LabClient.attach(iframe, location.origin, { readyTimeoutMs: 120_000 });
  const rows = [];
  let total = 120;
  let lastEval = '';
  const show = () => {
    const r = rows[rows.length - 1];
    status.classList.remove('error');
    status.textContent = r
      ? `step ${r.step}/${total}  κ=${fmt(r.kappa)}  τ=${fmt(r.tau)}\nmask difference ${fmt(r.meanMaskL1)}  max probability ${fmt(r.meanMaxProb)}${lastEval}`
      : `ready (${total} steps)${lastEval}`;
    drawCurves(svg, rows, total);
  };
  lab.on('metrics', (d) => {
    rows.push(...d.rows);
    show();
  });
  lab.on('evaluation', (ev) => {
    const en = ev.metrics.en ?? ev.metrics.val;
    lastEval = en ? `\nhard-mask validation loss ${fmt(en.loss)} at step ${ev.step}` : '';
    show();
  });
  lab.on('error', (e) => {
    status.classList.add('error');
    status.textContent = `error: ${e.message}`;
  });
  lab.on('done', () => {
    status.textContent += '\ndone';
  });
  const state = await lab.getState();
  total = state.totalSteps;
  show();
  const clear = () => {
    rows.length = 0;
    lastEval = '';
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
  const all = (f) => async () => {
    try {
      await Promise.all(labs.map(f));
    } catch (e) {
      global.textContent = e.message;
    }
  };
  const buttons = {
    run: all(({ lab }) => lab.run()),
    pause: all(({ lab }) => lab.pause()),
    step: all(({ lab }) => lab.step()),
    reset: all(async (l) => {
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
