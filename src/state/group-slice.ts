// The group the page looks at up close (GroupView): which one, and reading it from the worker. The
// layer map's cells select it (linked views: MaskView.tsx); a load keeps the selection when the layer
// still has that group and falls back to the first group otherwise. The layer map's own data (the
// large map of one layer, every layer's summary) is read here too.
import type { StateCreator } from 'zustand';
import { viaWorker, type LayerMapData, type LayerSummariesData } from '../lab/worker-api';
import type { GroupData } from '../sparsity/group-view';
import { connection } from './connection';
import type { LabState } from './store';

export interface GroupSelection {
  /** index of the masked layer (ModelSummary.sites) */
  site: number;
  /** group number within it (row-major over output row, group along the input) */
  group: number;
}

export interface GroupSlice {
  selectedGroup: GroupSelection;
  selectGroup(site: number, group: number): void;
  /** The worker's LabRunner.groupView for one group. */
  groupView(site: number, group: number): Promise<GroupData>;
  /** The worker's LabRunner.layerMap: one layer's large map within `maxCells` cells. */
  layerMap(site: number, maxCells: number): Promise<LayerMapData>;
  /** The worker's LabRunner.layerSummaries: every layer's summary and thumbnail (≤ `maxCells` cells each). */
  layerSummaries(maxCells: number): Promise<LayerSummariesData>;
}

function worker() {
  const c = connection();
  if (!c) throw new Error('The engine worker is not connected yet.');
  return c;
}

export const groupSlice: StateCreator<LabState, [], [], GroupSlice> = (set) => ({
  selectedGroup: { site: 0, group: 0 },
  selectGroup(site, group) {
    set({ selectedGroup: { site, group } });
  },
  async groupView(site, group) {
    const c = worker();
    try {
      return await viaWorker(c, c.api.runner.groupView(site, group));
    } catch (e) {
      // a group the new model does not have (after loading another one): show its first group
      if (group !== 0 || site !== 0) set({ selectedGroup: { site: 0, group: 0 } });
      throw e;
    }
  },
  async layerMap(site, maxCells) {
    const c = worker();
    return viaWorker(c, c.api.runner.layerMap(site, maxCells));
  },
  async layerSummaries(maxCells) {
    const c = worker();
    return viaWorker(c, c.api.runner.layerSummaries(maxCells));
  },
});
