//! CRC-32 (zlib/IEEE) helpers: one pass per byte for chunk and file CRCs together.
//!
//! A file's CRC covers every byte before the footer, and each chunk's CRC covers that chunk's
//! header and payload. Rather than running two CRCs over every byte, readers and the writer
//! compute each chunk's CRC once (with `crc32fast`) and fold it into the running file CRC with
//! [`combine`], which costs a few table lookups per chunk whatever its length.
//!
//! `crc32fast` has a `combine` of its own, but it squares 32×32 bit matrices per bit of the
//! length (tens of thousands of operations per call), which is slower than the CRC itself for
//! chunks of a few kilobytes. [`combine`] multiplies by a precomputed power of x instead
//! (zlib 1.2.12's method), with a table for lengths below 4 KiB.

/// The reflected CRC-32 polynomial.
const POLY: u32 = 0xEDB8_8320;
/// The polynomial 1 (x^0) in the reflected representation.
const ONE: u32 = 0x8000_0000;
/// Lengths below this take x^(8n) straight from [`POW8`].
const POW8_LEN: usize = 4096;

/// Byte-wise CRC table: `TABLE[b]` is b·x^32 mod P.
static TABLE: [u32; 256] = make_table();
/// Slicing tables: `SLICE[k][b]` is `TABLE[b]` times x^(8k), so four zero bytes go through
/// a register in four independent lookups instead of four dependent ones.
static SLICE: [[u32; 256]; 4] = make_slices();
/// `POW8[n]` is x^(8n) mod P.
static POW8: [u32; POW8_LEN] = powers_of_x8(ONE, false);
/// `RESIDUE_INV_POW8[n]` is R·x^(-8n) mod P, R the [`RESIDUE`] (x is invertible: P has a
/// constant term).
static RESIDUE_INV_POW8: [u32; POW8_LEN] = powers_of_x8(RESIDUE, true);
/// `POW8_HIGH[j]` is x^(8·4096·2^j) mod P.
static POW8_HIGH: [u32; 52] = make_pow8_high();

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

const fn make_slices() -> [[u32; 256]; 4] {
    let mut slices = [[0u32; 256]; 4];
    let mut b = 0;
    while b < 256 {
        let mut c = TABLE[b];
        let mut k = 0;
        while k < 4 {
            slices[k][b] = c;
            c = times_x8(c);
            k += 1;
        }
        b += 1;
    }
    slices
}

/// Multiplies by x^8 modulo P: one zero byte through the table.
const fn times_x8(c: u32) -> u32 {
    TABLE[(c & 0xff) as usize] ^ (c >> 8)
}

/// Divides by x^8 modulo P: [`times_x8`] undone, one bit at a time. Multiplying by x shifts
/// right and folds P in when x^31 overflows; P's x^0 term then lands in bit 31, which a plain
/// shift leaves clear, so bit 31 tells whether to unfold.
const fn over_x8(mut c: u32) -> u32 {
    let mut k = 0;
    while k < 8 {
        c = if c & ONE != 0 {
            ((c ^ POLY) << 1) | 1
        } else {
            c << 1
        };
        k += 1;
    }
    c
}

/// `start`·x^(8n) mod P for n below [`POW8_LEN`], or `start`·x^(-8n) when `inverse`.
const fn powers_of_x8(start: u32, inverse: bool) -> [u32; POW8_LEN] {
    let mut pow = [0u32; POW8_LEN];
    let mut c = start;
    let mut n = 0;
    while n < POW8_LEN {
        pow[n] = c;
        c = if inverse { over_x8(c) } else { times_x8(c) };
        n += 1;
    }
    pow
}

const fn make_pow8_high() -> [u32; 52] {
    let mut high = [0u32; 52];
    let mut c = times_x8(POW8[POW8_LEN - 1]);
    let mut j = 0;
    while j < 52 {
        high[j] = c;
        c = multiply(c, c);
        j += 1;
    }
    high
}

/// a·b mod P, both in the reflected representation.
///
/// A carry-less 32×32 product through a 16-entry table of a's multiples, then the upper half
/// (x^32 and above) is reduced with the slicing tables.
const fn multiply(a: u32, b: u32) -> u32 {
    let mut multiples = [0u64; 16];
    let mut i = 1;
    while i < 16 {
        multiples[i] = (multiples[i >> 1] << 1) ^ if i & 1 != 0 { a as u64 } else { 0 };
        i += 1;
    }
    let mut product = 0u64;
    let mut k = 0;
    while k < 8 {
        product ^= multiples[((b >> (4 * k)) & 15) as usize] << (4 * k);
        k += 1;
    }
    // Reflected operands give a product reflected over 63 bits: shift it to 64.
    let product = product << 1;
    let low_terms = (product >> 32) as u32;
    // The upper terms, as a register, times x^32: four zero bytes, sliced.
    let [b0, b1, b2, b3] = (product as u32).to_le_bytes();
    let high_terms = SLICE[3][b0 as usize]
        ^ SLICE[2][b1 as usize]
        ^ SLICE[1][b2 as usize]
        ^ SLICE[0][b3 as usize];
    low_terms ^ high_terms
}

/// x^(8n) mod P.
fn x_pow_8n(n: u64) -> u32 {
    let mut result = POW8[(n % POW8_LEN as u64) as usize];
    let mut q = n / POW8_LEN as u64;
    let mut j = 0;
    while q != 0 {
        if q & 1 != 0 {
            result = multiply(result, POW8_HIGH[j]);
        }
        q >>= 1;
        j += 1;
    }
    result
}

/// The CRC-32 of any byte run followed by its own CRC (little-endian): the CRC-32 residue.
///
/// A chunk is intact exactly when the CRC of its header, payload and stored CRC together is
/// this value, so readers hash each chunk once, stored CRC included, and fold the result into
/// the file CRC as it is.
pub const RESIDUE: u32 = 0x2144_DF1C;

/// The CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// The CRC-32 of `a` followed by `b`, from `crc32(a)`, `crc32(b)` and `b.len()`.
pub fn combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    multiply(x_pow_8n(len_b), crc_a) ^ crc_b
}

/// A CRC-32 over bytes seen so far, fed either bytes or whole CRCs of byte runs.
///
/// Runs whose CRC is the [`RESIDUE`] (whole chunks, stored CRC included) are folded in
/// batches: appending runs of lengths n₁…n_k with CRC R to a CRC v gives
/// x^(8N)·(v ⊕ Σ R·x^(-8P_j)), where P_j are the running sums of the lengths and N their
/// total. While N stays below 4096 each term is one table lookup, so a batch of small chunks
/// costs one multiplication in all instead of one per chunk.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunningCrc {
    /// The CRC of everything before the batch.
    value: u32,
    /// Total length of the batch's runs (below [`POW8_LEN`]).
    batch_len: usize,
    /// Σ R·x^(-8P_j) over the batch's runs.
    batch_sum: u32,
}

impl RunningCrc {
    /// A running CRC that has been fed bytes whose CRC is `crc`.
    pub(crate) fn resuming(crc: u32) -> Self {
        RunningCrc {
            value: crc,
            ..RunningCrc::default()
        }
    }

    /// The CRC of everything fed so far.
    pub fn value(mut self) -> u32 {
        self.fold();
        self.value
    }

    /// Folds the batch into `value`.
    fn fold(&mut self) {
        if self.batch_len != 0 || self.batch_sum != 0 {
            self.value = multiply(POW8[self.batch_len], self.value ^ self.batch_sum);
            self.batch_len = 0;
            self.batch_sum = 0;
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.fold();
        if bytes.len() < 16 {
            let mut c = !self.value;
            for &b in bytes {
                c = times_x8(c ^ u32::from(b));
            }
            self.value = !c;
        } else {
            let mut h = crc32fast::Hasher::new_with_initial(self.value);
            h.update(bytes);
            self.value = h.finalize();
        }
    }

    /// Feeds a run of `len` bytes whose own CRC is `crc`, without touching the bytes.
    #[inline]
    pub fn append(&mut self, crc: u32, len: u64) {
        match usize::try_from(len) {
            Ok(len) if crc == RESIDUE && len < POW8_LEN => {
                // A run that would take the batch past the table starts the next one.
                if self.batch_len + len >= POW8_LEN {
                    self.fold();
                }
                self.batch_len += len;
                self.batch_sum ^= RESIDUE_INV_POW8[self.batch_len];
            }
            _ => {
                self.fold();
                self.value = combine(self.value, crc, len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[track_caller]
    fn check_combine(a: &[u8], b: &[u8]) {
        let mut whole = a.to_vec();
        whole.extend_from_slice(b);
        assert_eq!(
            combine(crc32(a), crc32(b), b.len() as u64),
            crc32(&whole),
            "{} + {}",
            a.len(),
            b.len()
        );
    }

    #[test]
    fn combine_matches_a_crc_of_the_concatenation() {
        for (i, len) in [
            0usize,
            1,
            2,
            3,
            7,
            12,
            16,
            255,
            4095,
            4096,
            4097,
            8192,
            70_000,
            1 << 20,
        ]
        .into_iter()
        .enumerate()
        {
            check_combine(&bytes(i as u32, 37), &bytes(i as u32 + 100, len));
            check_combine(&[], &bytes(i as u32 + 200, len));
        }
    }

    #[test]
    fn a_run_followed_by_its_crc_has_the_residue() {
        for len in [0usize, 1, 12, 100, 5000] {
            let mut data = bytes(len as u32, len);
            let crc = crc32(&data);
            data.extend_from_slice(&crc.to_le_bytes());
            assert_eq!(crc32(&data), RESIDUE);
        }
    }

    #[test]
    fn powers_agree_with_squaring() {
        for n in [
            0u64,
            1,
            4095,
            4096,
            12_345,
            1 << 20,
            (1 << 32) + 5,
            u64::MAX >> 4,
        ] {
            // x^(8(n+1)) = x^(8n)·x^8.
            assert_eq!(x_pow_8n(n + 1), times_x8(x_pow_8n(n)), "n = {n}");
        }
        assert_eq!(multiply(ONE, 0x1234_5678), 0x1234_5678);
    }

    #[test]
    fn dividing_undoes_multiplying() {
        for n in [0usize, 1, 2, 1000, POW8_LEN - 1] {
            assert_eq!(multiply(POW8[n], RESIDUE_INV_POW8[n]), RESIDUE, "n = {n}");
        }
        assert_eq!(over_x8(times_x8(0xDEAD_BEEF)), 0xDEAD_BEEF);
    }

    #[test]
    fn batched_residues_match_one_pass() {
        // Chunks (bytes followed by their CRC) of lengths that fill batches exactly, cross
        // them, and exceed one on their own, with plain bytes between some of them.
        let mut data = Vec::new();
        let mut run = RunningCrc::default();
        for (i, len) in [1usize, 4091, 0, 12, 1000, 3000, 5000, 4092, 20, 9000, 7, 40]
            .into_iter()
            .enumerate()
        {
            let mut chunk = bytes(i as u32 + 300, len);
            chunk.extend_from_slice(&crc32(&chunk).to_le_bytes());
            run.append(RESIDUE, chunk.len() as u64);
            data.extend_from_slice(&chunk);
            assert_eq!(run.value(), crc32(&data), "after chunk {i}");
            if i % 4 == 3 {
                let plain = bytes(i as u32, 33);
                run.update(&plain);
                data.extend_from_slice(&plain);
            }
        }
        assert_eq!(run.value(), crc32(&data));
    }

    #[test]
    fn running_crc_matches_one_pass() {
        let data = bytes(9, 10_000);
        let mut run = RunningCrc::default();
        run.update(data.get(..5).unwrap());
        run.update(data.get(5..100).unwrap());
        let tail = data.get(100..).unwrap();
        run.append(crc32(tail), tail.len() as u64);
        assert_eq!(run.value(), crc32(&data));
    }
}
