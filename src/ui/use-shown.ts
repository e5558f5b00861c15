// The page's visibility (hide= in the URL) for components: see visibility.ts.
import { useMemo } from 'react';
import { useLab } from '../state/store';
import { shownBy, type Shown } from './visibility';

export function useShown(): Shown {
  const hidden = useLab((s) => s.hidden);
  return useMemo(() => shownBy(hidden), [hidden]);
}
