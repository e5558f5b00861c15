import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installAutomation } from './embed/automation';
import { installEmbedHost } from './embed/host';
import { decodeConfigFromSearch } from './lab/url-config';
import { pageControl } from './state/control';
import { useLab } from './state/store';
import { App } from './ui/App';
import { preloadPlotly } from './ui/charts/plotly-loader';
import { ErrorBoundary } from './ui/components/ErrorBoundary';
import { UrlNotice } from './ui/components/UrlNotice';
import './ui/styles.css';

// Errors outside React rendering (event handlers, promises) go to a banner instead of the console only.
window.addEventListener('error', (ev) => useLab.getState().reportError(ev.message || String(ev.error)));
window.addEventListener('unhandledrejection', (ev) => {
  const r: unknown = ev.reason;
  useLab.getState().reportError(r instanceof Error ? r.message : String(r));
});

// Automation (window.lab, for the CLI, regression runs and tests) and the postMessage embed host
// drive the page through the same LabControl as its buttons.
installAutomation(pageControl);
installEmbedHost(pageControl);

// The experiment lives in the URL (docs/EMBED.md): valid values become the draft configuration,
// invalid or unknown ones are shown and fall back to defaults; embed=1 compacts the layout,
// hide= names panels and controls not to render, autorun=1 starts learning once the model is loaded.
const fromUrl = decodeConfigFromSearch(location.search);
useLab.getState().mergeDraft(fromUrl.config as unknown as Record<string, unknown>);
if (fromUrl.embed) document.body.classList.add('embed');
// Hidden panels and controls are not rendered (the components read `hidden` from the store); the
// body classes stay as a styling hook for embedding pages.
useLab.setState({ hidden: fromUrl.hide });
for (const name of fromUrl.hide) document.body.classList.add(`hide-${name}`);
if (fromUrl.autorun) {
  void pageControl
    .setConfig(fromUrl.config as unknown as Record<string, unknown>)
    .then(() => pageControl.run())
    .catch((e: Error) => useLab.getState().reportError(`autorun: ${e.message}`));
}

const rootEl = document.getElementById('root');
if (!rootEl) throw new Error('index.html has no #root element');
createRoot(rootEl).render(
  <StrictMode>
    <ErrorBoundary what="the lab page">
      <UrlNotice warnings={fromUrl.warnings} />
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
// the chart library's one long evaluation task happens now, not while learning (see plotly-loader.ts)
preloadPlotly();
