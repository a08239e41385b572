//! Small deterministic hashes: the sandbox must give the same answers on every
//! machine and after every restart, so it never uses a random generator.

/// SplitMix64 finaliser over two inputs.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_add(b.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, mixed with a seed.
pub fn mix_str(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(seed, h)
}

/// A hash as a number in [0, 1).
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A hash as a duration in [min, max] milliseconds.
pub fn between(h: u64, min_ms: i64, max_ms: i64) -> i64 {
    if max_ms <= min_ms {
        return min_ms;
    }
    min_ms + (h % (max_ms - min_ms + 1) as u64) as i64
}
