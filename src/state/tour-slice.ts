// The guided tour (src/ui/components/Tour.tsx): open or not, which step, and whether this browser has
// seen it. A first visit to the full page opens it by itself; once closed (finished, skipped or Esc)
// it is remembered in localStorage and only the header's Tour button or the URL's tour=1 open it
// again. Embedded labs (embed=1) open it only with tour=1: a lesson decides, not the iframe.
import type { StateCreator } from 'zustand';
import type { LabState } from './store';

/** localStorage key: '1' once the tour was closed in this browser. */
export const TOUR_SEEN_KEY = 'maskllm-lab:tour-seen';

// Trap: localStorage throws (not just returns null) in sandboxed iframes and with storage blocked;
// the tour then behaves as unseen and simply is not remembered.
function readSeen(): boolean {
  try {
    return globalThis.localStorage?.getItem(TOUR_SEEN_KEY) === '1';
  } catch {
    return false;
  }
}

function writeSeen(): void {
  try {
    globalThis.localStorage?.setItem(TOUR_SEEN_KEY, '1');
  } catch {
    /* not remembered: see readSeen */
  }
}

export interface TourStart {
  /** tour=1 in the URL */
  forced: boolean;
  /** embed=1 in the URL */
  embed: boolean;
  /** the ?selftest view (the tour's panels are not the point there) */
  selfTestView: boolean;
}

export interface TourSlice {
  tour: { open: boolean; step: number };
  /** At start-up: open the tour when forced, or on a first visit to the full page. */
  startTour(how: TourStart): void;
  openTour(step?: number): void;
  /** Move to a step (the dialog clamps it to its steps). */
  setTourStep(step: number): void;
  /** Close (finished, skipped or Esc) and remember that this browser has seen it. */
  closeTour(): void;
}

export const tourSlice: StateCreator<LabState, [], [], TourSlice> = (set) => ({
  tour: { open: false, step: 0 },
  startTour({ forced, embed, selfTestView }) {
    if (forced || (!embed && !selfTestView && !readSeen())) set({ tour: { open: true, step: 0 } });
  },
  openTour(step = 0) {
    set({ tour: { open: true, step } });
  },
  setTourStep(step) {
    set((s) => ({ tour: { ...s.tour, step } }));
  },
  closeTour() {
    writeSeen();
    set((s) => ({ tour: { ...s.tour, open: false } }));
  },
});
