// The lab page: header (with the Tour button), the guided tour, banners, the saved-run offer, the bar
// (model, method, Run), then the visual part first — the group view, the mask view, the live charts,
// the results — and after it the model's files and summary, the experiment settings ("Advanced"),
// sharing and the engine panel; the self-test panels only in the ?selftest view (a link otherwise).
// Panels named in the URL's hide= are not rendered (see visibility.ts).
import { useEffect } from 'react';
import { decodeConfigFromSearch } from '../lab/url-config';
import { selfTestTimings, useLab } from '../state/store';
import { AdapterPanel } from './components/AdapterPanel';
import { Banners } from './components/Banner';
import { Chart } from './components/Chart';
import { ChartsPanel } from './components/ChartsPanel';
import { ConfigPanel } from './components/ConfigPanel';
import { ErrorBoundary } from './components/ErrorBoundary';
import { GroupView } from './components/GroupView';
import { LabBar } from './components/LabBar';
import { MaskView } from './components/MaskView';
import { ModelPanel } from './components/ModelPanel';
import { ResultsPanel } from './components/ResultsPanel';
import { ResumeOffer } from './components/RunPanel';
import { SelfTestPanel } from './components/SelfTestPanel';
import { SharePanel } from './components/SharePanel';
import { Tour, TourButton } from './components/Tour';
import { useShown } from './use-shown';

const TIMING_SERIES = [selfTestTimings];

/**
 * The self-test (every kernel against its CPU twin) has its own view, ?selftest (it runs at once
 * there, store.ts); the lab's page only links to it.
 */
const SELF_TEST_VIEW = new URLSearchParams(globalThis.location?.search ?? '').has('selftest');

function selfTestHref(): string {
  const q = new URLSearchParams(globalThis.location?.search ?? '');
  q.set('selftest', '');
  return `?${q.toString().replace(/selftest=(&|$)/, 'selftest$1')}`;
}

export function App() {
  const start = useLab((s) => s.start);
  const startTour = useLab((s) => s.startTour);
  const shown = useShown();
  useEffect(() => {
    void start();
  }, [start]);
  // tour=1 forces the tour; a first visit to the full page opens it (tour-slice.ts)
  useEffect(() => {
    const url = decodeConfigFromSearch(globalThis.location?.search ?? '');
    startTour({ forced: url.tour, embed: url.embed, selfTestView: SELF_TEST_VIEW });
  }, [startTour]);

  return (
    <>
      <header className="site-header">
        <div className="site-title">
          <h1>MaskLLM WebGPU lab</h1>
          {!SELF_TEST_VIEW && <TourButton />}
        </div>
        <p>
          MaskLLM learns which 2 of every 4 weights to keep: the weights stay frozen and a mask for each group of four is sampled from learnable logits
          (Gumbel-softmax) and trained end to end — here with hand-written WGSL on your GPU. Pick a model, press Run, and watch the masks settle; compare with
          the one-shot baselines and download the mask.
        </p>
      </header>
      {!SELF_TEST_VIEW && <Tour />}
      <main>
        <ErrorBoundary what="the banners">
          <Banners />
          <ResumeOffer />
        </ErrorBoundary>
        <ErrorBoundary what="the bar">
          <LabBar />
        </ErrorBoundary>
        <div className="panels">
          {shown.panel('group') && (
            <ErrorBoundary what="the group view">
              <GroupView />
            </ErrorBoundary>
          )}
          {shown.panel('mask') && (
            <ErrorBoundary what="the mask view">
              <MaskView />
            </ErrorBoundary>
          )}
          {shown.panel('charts') && (
            <ErrorBoundary what="the charts">
              <ChartsPanel />
            </ErrorBoundary>
          )}
          {shown.resultsPanel() && (
            <ErrorBoundary what="the results">
              <ResultsPanel />
            </ErrorBoundary>
          )}
          {shown.panel('files') && (
            <ErrorBoundary what="the model panel">
              <ModelPanel />
            </ErrorBoundary>
          )}
          {shown.panel('share') && (
            <ErrorBoundary what="the share panel">
              <SharePanel />
            </ErrorBoundary>
          )}
          {shown.configPanel() && (
            <ErrorBoundary what="the experiment settings">
              <ConfigPanel />
            </ErrorBoundary>
          )}
          {shown.panel('adapter') && (
            <ErrorBoundary what="the engine panel">
              <AdapterPanel />
            </ErrorBoundary>
          )}
          {shown.panel('selftest') && !SELF_TEST_VIEW && (
            <p className="small selftest-link">
              Does every kernel compute what its CPU twin computes on this GPU?{' '}
              <a href={selfTestHref()} data-testid="selftest-link">
                Open the self-test view
              </a>{' '}
              (about a minute on a software GPU).
            </p>
          )}
          {shown.panel('selftest') && SELF_TEST_VIEW && (
            <>
              <ErrorBoundary what="the self-test panel">
                <SelfTestPanel />
              </ErrorBoundary>
              <ErrorBoundary what="the timing chart">
                <section className="panel" aria-labelledby="timing-title" data-testid="selftest-timing">
                  <h2 id="timing-title">Self-test timing</h2>
                  <Chart title="Total self-test time per run" series={TIMING_SERIES} xTitle="run" yTitle="ms" emptyText="No completed run yet." integerX />
                </section>
              </ErrorBoundary>
            </>
          )}
        </div>
      </main>
    </>
  );
}
