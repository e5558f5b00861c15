// Uniform structs for kernels: shapes are passed as uniforms so one pipeline serves every shape.
// WGSL uniform layout trap: fields of a struct are 4-byte u32/i32/f32 here, and the struct size is
// padded to 16 bytes; keep every kernel's Params struct made of scalars only, in the order written.

export class ParamsBuilder {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f')[] = [];
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 uniform out of range: ${v}`);
    this.words.push(v);
    this.kinds.push('u');
    return this;
  }
  i32(v: number): this {
    this.words.push(v | 0);
    this.kinds.push('i');
    return this;
  }
  f32(v: number): this {
    this.words.push(v);
    this.kinds.push('f');
    return this;
  }
  build(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      if (this.kinds[k] === 'u') u[k] = w;
      else if (this.kinds[k] === 'i') i[k] = w;
      else f[k] = w;
    });
    return buf;
  }
}

export const params = () => new ParamsBuilder();
