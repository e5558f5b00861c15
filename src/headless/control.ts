// LabControl over a LabSession on the page's main thread (the headless entry has no UI to keep
// responsive, so no worker). setConfig starts loading in the background and returns at once, so
// a driver can keep polling events (loading / baseline progress) while it happens; run, step and
// exportMask wait for that load first.
import type { Engine } from '../backend/engine';
import type { AssetLoader } from '../lab/assets';
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig } from '../lab/config';
import { LabSession, type SessionEvent } from '../lab/session';
import type { LabControl, LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../embed/types';

export interface CustomModelFiles {
  safetensors: Uint8Array;
  config: unknown;
}

export class HeadlessControl implements LabControl {
  readonly session: LabSession;
  private config: ExperimentConfig = { ...DEFAULT_CONFIG };
  private loadedKey: string | null = null;
  private loading: Promise<void> | null = null;
  private loadError: Error | null = null;
  private custom: CustomModelFiles | null = null;
  private customVersion = 0;
  private running: Promise<void> | null = null;
  private message: string | undefined;
  private readonly listeners = new Set<(e: SessionEvent) => void>();

  constructor(engine: Engine, assets: AssetLoader, readonly engineKind: 'gpu' | 'cpu') {
    this.session = new LabSession(engine, assets, (e) => this.dispatch(e));
  }

  private dispatch(e: SessionEvent): void {
    if (e.type === 'state') this.message = e.message;
    for (const f of this.listeners) {
      try {
        f(e);
      } catch (err) {
        console.error('a lab event listener threw', err);
      }
    }
  }

  /** A model opened from files instead of a bundled name; applied by the next setConfig. */
  setCustomModel(files: CustomModelFiles | null): void {
    this.custom = files;
    this.customVersion++;
  }

  setPriorFile(bytes: Uint8Array): void {
    this.session.setPriorFile(bytes);
    this.loadedKey = null; // the prior changes what load() prepares
  }

  async setConfig(partial: Record<string, unknown>): Promise<{ config: ExperimentConfig; warnings: string[] }> {
    if (this.running) throw new Error('pause the run before changing the configuration');
    await this.settled();
    const { config, warnings } = sanitizeConfig(partial, this.config);
    this.config = config;
    const key = JSON.stringify([config, this.customVersion]);
    if (key !== this.loadedKey) {
      this.loadedKey = key;
      this.loadError = null;
      this.loading = this.session.load(config, this.custom ?? undefined).catch((e: unknown) => {
        // the session already emitted the error event and moved to 'error'
        this.loadError = e instanceof Error ? e : new Error(String(e));
        this.loadedKey = null;
      });
    }
    return { config, warnings };
  }

  private async settled(): Promise<void> {
    if (this.loading) await this.loading;
  }

  private async loaded(): Promise<void> {
    if (!this.loading) throw new Error('no configuration applied yet: call setConfig first');
    await this.loading;
    if (this.loadError) throw new Error(`loading failed: ${this.loadError.message}`);
  }

  async run(): Promise<void> {
    await this.loaded();
    if (this.running) return;
    const p = this.session.run(); // throws a SessionError from a state it cannot run from
    this.running = p.finally(() => {
      this.running = null;
    });
  }

  async pause(): Promise<void> {
    this.session.pause();
    if (this.running) await this.running;
  }

  async step(): Promise<void> {
    await this.loaded();
    if (this.running) throw new Error('cannot step while running: pause first');
    await this.session.stepOnce();
  }

  async reset(): Promise<void> {
    await this.settled();
    await this.session.reset();
  }

  async getState(): Promise<LabStateSnapshot> {
    const s = this.session;
    return {
      state: s.state,
      step: s.step,
      totalSteps: this.config.steps,
      config: { ...this.config },
      model: s.summary,
      engine: this.engineKind,
      message: this.message,
    };
  }

  async getMetrics(): Promise<LabMetricsSnapshot> {
    const s = this.session;
    return { rows: s.metrics, evaluations: s.evaluations, table: s.table };
  }

  async exportMask(format: MaskFormat): Promise<Uint8Array> {
    await this.loaded();
    if (this.running) throw new Error('pause the run before exporting');
    return this.session.exportMask(format);
  }

  subscribe(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
