// The guided tour: a small non-modal dialog that walks through TOUR_STEPS (../tour-steps.ts) and
// highlights the part of the page each step talks about. Keyboard: focus moves into the dialog when
// it opens (onto Next), ←/→ move between steps, Enter on Next/Back (or on the dialog itself) too,
// Esc closes from anywhere on the page, and focus returns to where it was (or to the Tour button).
// Non-modal on purpose: step 3 asks the reader to try the κ and τ sliders while it is open.
//
// Highlighting marks the real element with data-tour-active (styles.css draws the outline and the
// spotlight) instead of an overlay positioned by script: the mark follows the element through
// scrolling and layout changes with no per-frame work, which matters while learning runs.
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useLab } from '../../state/store';
import { TOUR_STEPS } from '../tour-steps';
import { useShown } from '../use-shown';

export const TOUR_BUTTON_ID = 'tour-open';
const ACTIVE = 'data-tour-active';

/** The first of the step's targets that is on the page. */
function findTarget(testIds: readonly string[]): HTMLElement | null {
  for (const id of testIds) {
    const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
    if (el) return el;
  }
  return null;
}

/** The header's button that (re)opens the tour. */
export function TourButton() {
  const open = useLab((s) => s.tour.open);
  const openTour = useLab((s) => s.openTour);
  return (
    <button
      type="button"
      id={TOUR_BUTTON_ID}
      className="secondary tour-button"
      aria-haspopup="dialog"
      aria-expanded={open}
      onClick={() => openTour(0)}
      data-testid="tour-open"
    >
      Tour
    </button>
  );
}

export function Tour() {
  const open = useLab((s) => s.tour.open);
  const step = useLab((s) => s.tour.step);
  if (!open) return null;
  return <TourDialog index={Math.max(0, Math.min(TOUR_STEPS.length - 1, step))} />;
}

function TourDialog({ index }: { index: number }) {
  const setStep = useLab((s) => s.setTourStep);
  const close = useLab((s) => s.closeTour);
  const shown = useShown();
  const dialog = useRef<HTMLDivElement>(null);
  const next = useRef<HTMLButtonElement>(null);
  const step = TOUR_STEPS[index];
  const last = index === TOUR_STEPS.length - 1;
  const hidden = !shown.panel(step.panel);

  // Focus moves in when the dialog opens and back out when it closes.
  useEffect(() => {
    const before = document.activeElement;
    next.current?.focus();
    return () => {
      const back = before instanceof HTMLElement && before !== document.body && before.isConnected ? before : document.getElementById(TOUR_BUTTON_ID);
      back?.focus();
    };
  }, []);

  // Esc closes from anywhere: the dialog is not modal, so focus may be on the page.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [close]);

  // Highlight this step's element and bring it on screen (instant: the tests and a reader with
  // reduced motion both want it there at once). The dialog carries which element it marked.
  useEffect(() => {
    const el = hidden ? null : findTarget(step.targets);
    if (dialog.current) dialog.current.dataset.target = el?.dataset.testid ?? '';
    if (!el) return;
    el.setAttribute(ACTIVE, '');
    const tall = el.getBoundingClientRect().height > window.innerHeight * 0.55;
    el.scrollIntoView({ block: tall ? 'start' : 'center', inline: 'nearest' });
    return () => el.removeAttribute(ACTIVE);
  }, [step, hidden]);

  const go = (to: number) => {
    if (to >= TOUR_STEPS.length) close();
    else if (to >= 0) setStep(to);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'ArrowRight' && !last) go(index + 1);
    else if (e.key === 'ArrowLeft') go(index - 1);
    // Enter on a button is that button's click; elsewhere in the dialog it means Next
    else if (e.key === 'Enter' && !(e.target instanceof HTMLButtonElement)) go(index + 1);
    else return;
    e.preventDefault();
  };

  return (
    <div
      ref={dialog}
      className="tour"
      role="dialog"
      aria-modal="false"
      aria-labelledby="tour-title"
      aria-describedby="tour-text"
      tabIndex={-1}
      onKeyDown={onKeyDown}
      data-testid="tour"
      data-step={index}
    >
      {/* aria-live: a step change reads the new step without moving focus off Next */}
      <div aria-live="polite" aria-atomic="true">
        <p className="small tour-progress" data-testid="tour-progress">
          Tour: step {index + 1} of {TOUR_STEPS.length}
        </p>
        <h2 id="tour-title">{step.title}</h2>
        <div id="tour-text">
          {step.text.map((t) => (
            <p key={t}>{t}</p>
          ))}
          {hidden && (
            <p className="note small" data-testid="tour-hidden-note">
              This page hides {step.panelLabel}, so there is nothing to point at here.
            </p>
          )}
        </div>
      </div>
      <div className="buttons tour-buttons">
        <button type="button" className="secondary" onClick={close} data-testid="tour-skip">
          Skip tour
        </button>
        <span className="tour-nav">
          {/* aria-disabled, not disabled: a disabled button drops the focus it holds to <body> */}
          <button type="button" className="secondary" aria-disabled={index === 0} onClick={() => go(index - 1)} data-testid="tour-back">
            Back
          </button>
          <button type="button" ref={next} onClick={() => go(index + 1)} data-testid="tour-next">
            {last ? 'Finish' : 'Next'}
          </button>
        </span>
      </div>
    </div>
  );
}
