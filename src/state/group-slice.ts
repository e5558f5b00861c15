// The group the page looks at up close (GroupView): which one, and reading it from the worker. The
// mask view's cells select it (linked views); a load keeps the selection when the layer still has
// that group and falls back to the first group otherwise.
import type { StateCreator } from 'zustand';
import { viaWorker } from '../lab/worker-api';
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
}

export const groupSlice: StateCreator<LabState, [], [], GroupSlice> = (set) => ({
  selectedGroup: { site: 0, group: 0 },
  selectGroup(site, group) {
    set({ selectedGroup: { site, group } });
  },
  async groupView(site, group) {
    const c = connection();
    if (!c) throw new Error('The engine worker is not connected yet.');
    try {
      return await viaWorker(c, c.api.runner.groupView(site, group));
    } catch (e) {
      // a group the new model does not have (after loading another one): show its first group
      if (group !== 0 || site !== 0) set({ selectedGroup: { site: 0, group: 0 } });
      throw e;
    }
  },
});
