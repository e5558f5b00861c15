// Counter-based RNG: Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", 2011). Only u32 add, rotate and xor: no 64-bit multiply (WGSL has none), so the
// TypeScript twin in src/ops/rng.ts produces bit-identical streams.
// Element i of stream (seed, stream, offset) = word (i & 1) of threefry(key=(seed, stream), ctr=(offset + i/2, 0)).

fn rotl32(x: u32, r: u32) -> u32 {
  return (x << r) | (x >> (32u - r));
}

fn threefry2x32(key: vec2u, ctr: vec2u) -> vec2u {
  let ks = array<u32, 3>(key.x, key.y, 0x1BD11BDAu ^ key.x ^ key.y);
  let rot = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
  var x0 = ctr.x + ks[0];
  var x1 = ctr.y + ks[1];
  for (var block = 0u; block < 5u; block++) {
    for (var r = 0u; r < 4u; r++) {
      x0 = x0 + x1;
      x1 = rotl32(x1, rot[(block % 2u) * 4u + r]);
      x1 = x1 ^ x0;
    }
    let s = block + 1u;
    x0 = x0 + ks[s % 3u];
    x1 = x1 + ks[(s + 1u) % 3u] + s;
  }
  return vec2u(x0, x1);
}

// A u32 in [0, 2^32) → f32 in the *open* interval (0, 1): 23 random bits plus one half, so neither
// 0 nor 1 can occur (Gumbel noise takes log(-log(u))).
fn bits_to_open_unit(b: u32) -> f32 {
  return (f32(b >> 9u) + 0.5) * (1.0 / 8388608.0);
}

fn rng_bits(seed: u32, stream: u32, offset: u32, i: u32) -> u32 {
  let w = threefry2x32(vec2u(seed, stream), vec2u(offset + (i >> 1u), 0u));
  return select(w.x, w.y, (i & 1u) == 1u);
}
