// A fixed-capacity series for live charts. It lives outside React state on purpose: pushing a point
// (possibly hundreds per second from a training loop) must not re-render anything; the Chart polls
// `version` and redraws at most 10 times per second (see src/ui/charts/scheduler.ts).
export class RingSeries {
  private xs: Float64Array;
  private ys: Float64Array;
  private start = 0;
  private count = 0;
  /** Bumped on every change; a chart redraws when it differs from the last one it drew. */
  version = 0;

  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RingSeries "${name}": capacity must be a positive integer, got ${capacity}`);
    this.xs = new Float64Array(capacity);
    this.ys = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(x: number, y: number): void {
    const i = (this.start + this.count) % this.capacity;
    this.xs[i] = x;
    this.ys[i] = y;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity; // full: overwrite the oldest point
    this.version++;
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
    this.version++;
  }

  /** x of the k-th point, oldest first (0 ≤ k < length). No copy: the canvas renderer reads through these. */
  xAt(k: number): number {
    return this.xs[(this.start + k) % this.capacity];
  }

  /** y of the k-th point, oldest first (0 ≤ k < length). */
  yAt(k: number): number {
    return this.ys[(this.start + k) % this.capacity];
  }

  /** The points oldest first, as fresh arrays (Plotly keeps references to what it is given). */
  toArrays(): { x: number[]; y: number[] } {
    const x = new Array<number>(this.count);
    const y = new Array<number>(this.count);
    for (let k = 0; k < this.count; k++) {
      const i = (this.start + k) % this.capacity;
      x[k] = this.xs[i];
      y[k] = this.ys[i];
    }
    return { x, y };
  }
}
