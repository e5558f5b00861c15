import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installAutomation } from './embed/automation';
import { installEmbedHost } from './embed/host';
import { pageControl } from './state/control';
import { useLab } from './state/store';
import { App } from './ui/App';
import { ErrorBoundary } from './ui/components/ErrorBoundary';
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

const rootEl = document.getElementById('root');
if (!rootEl) throw new Error('index.html has no #root element');
createRoot(rootEl).render(
  <StrictMode>
    <ErrorBoundary what="the lab page">
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
