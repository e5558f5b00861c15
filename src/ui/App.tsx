// The lab page: header, banners, panels. The mask-learning session plugs in as another panel
// (its live curves through <Chart> and RingSeries) once it exists.
import { useEffect } from 'react';
import { selfTestTimings, useLab } from '../state/store';
import { AdapterPanel } from './components/AdapterPanel';
import { Banners } from './components/Banner';
import { Chart } from './components/Chart';
import { ErrorBoundary } from './components/ErrorBoundary';
import { SelfTestPanel } from './components/SelfTestPanel';

const TIMING_SERIES = [selfTestTimings];

export function App() {
  const start = useLab((s) => s.start);
  useEffect(() => {
    void start();
  }, [start]);

  return (
    <>
      <header className="site-header">
        <h1>MaskLLM WebGPU lab</h1>
        <p>
          MaskLLM learns which 2 of every 4 weights to keep: the weights stay frozen and a mask for each group of four is sampled
          from learnable logits (Gumbel-softmax) and trained end to end — here with hand-written WGSL on your GPU.
        </p>
      </header>
      <main>
        <ErrorBoundary what="the banners">
          <Banners />
        </ErrorBoundary>
        <div className="panels">
          <ErrorBoundary what="the engine panel">
            <AdapterPanel />
          </ErrorBoundary>
          <ErrorBoundary what="the self-test panel">
            <SelfTestPanel />
          </ErrorBoundary>
          <ErrorBoundary what="the timing chart">
            <section className="panel" aria-labelledby="timing-title">
              <h2 id="timing-title">Self-test timing</h2>
              <Chart
                title="Total self-test time per run"
                series={TIMING_SERIES}
                xTitle="run"
                yTitle="ms"
                emptyText="No completed run yet."
                integerX
              />
            </section>
          </ErrorBoundary>
          <section className="panel" aria-labelledby="session-title">
            <h2 id="session-title">Mask learning</h2>
            <p>Not available yet: the model, data and mask-learning session are still being built. This panel will show the loss and how the 2:4 masks change.</p>
          </section>
        </div>
      </main>
    </>
  );
}
