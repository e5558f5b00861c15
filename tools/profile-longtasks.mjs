// Development aid (not part of npm test): runs a short tiny-gpt learning session in headless
// Chromium with the V8 sampling profiler on, then reports every stretch of ≥ 50 ms of uninterrupted
// main-thread work and which functions it spent its time in. Needs a dev server on E2E_PORT (5199):
//   npx vite --host 127.0.0.1 --port 5199 --strictPort &  node tools/profile-longtasks.mjs
import { chromium } from '@playwright/test';
import { writeFileSync } from 'node:fs';

const port = Number(process.env.E2E_PORT ?? 5199);
const args = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.addInitScript(() => {
  window.__lt = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) window.__lt.push([Math.round(e.startTime), Math.round(e.duration)]);
  }).observe({ type: 'longtask', buffered: true });
});
const q = '?model=tiny-gpt&batch=2&steps=30&evalEvery=10&evalWindows=4&samplesPerStep=1&calibBatches=2';
await page.goto(`http://127.0.0.1:${port}/${q}`);
await page.getByTestId('btn-run').waitFor();
const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
await cdp.send('Profiler.start');
const status = page.getByTestId('run-status');
const waitState = async (re, ms = 300_000) => {
  const t0 = Date.now();
  while (!re.test((await status.getAttribute('data-state')) ?? '')) {
    if (Date.now() - t0 > ms) throw new Error('timeout waiting for ' + re);
    await page.waitForTimeout(100);
  }
};
await page.getByTestId('btn-run').click();
await waitState(/running/);
console.log('running');
await page.waitForTimeout(15_000);
await page.getByTestId('btn-pause').click();
await waitState(/paused/);
await page.waitForTimeout(3000);
await page.getByTestId('btn-run').click();
await waitState(/running/);
await page.waitForTimeout(10_000);
const { profile } = await cdp.send('Profiler.stop');
const lt = await page.evaluate(() => window.__lt);
console.log('long tasks [start, ms]:', JSON.stringify(lt));
writeFileSync('/tmp/prof/profile.cpuprofile', JSON.stringify(profile));
await browser.close();

// ---- stretches of non-idle samples ----
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (id) => {
  const f = byId.get(id).callFrame;
  return `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
};
// '(program)' (native work: style, layout, paint, IPC) counts as busy; only '(idle)' ends a stretch
const idle = (id) => byId.get(id).callFrame.functionName === '(idle)';
let t = profile.startTime,
  run = [],
  runStart = 0;
const stretches = [];
const flush = () => {
  if (run.length) {
    const dur = (run.at(-1).t - runStart) / 1000;
    if (dur >= Number(process.env.STRETCH_MS ?? 50)) stretches.push({ at: (runStart - profile.startTime) / 1000, dur, samples: run });
  }
  run = [];
};
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  const id = profile.samples[i];
  if (idle(id)) {
    flush();
    continue;
  }
  if (!run.length) runStart = t;
  run.push({ t, id, dt: profile.timeDeltas[i + 1] ?? 0 });
}
flush();
for (const s of stretches) {
  console.log(`\n== stretch at ${s.at.toFixed(0)} ms, ${s.dur.toFixed(0)} ms`);
  const self = new Map(),
    incl = new Map();
  for (const x of s.samples) {
    self.set(name(x.id), (self.get(name(x.id)) ?? 0) + x.dt / 1000);
    const seen = new Set();
    for (let id = x.id; id !== undefined; id = parent.get(id)) {
      const k = name(id);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + x.dt / 1000);
    }
  }
  const top = (m, n) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${v.toFixed(1).padStart(7)} ms  ${k}`)
      .join('\n');
  console.log('self:\n' + top(self, 8));
  console.log('inclusive:\n' + top(incl, 25));
}
