//! QuickXorHash, the content hash OneDrive for Business and SharePoint put
//! in `file.hashes.quickXorHash`, written from Microsoft's description of the
//! algorithm (OneDrive dev center, "Code snippets: QuickXorHash"): every
//! input byte is XORed into a 160-bit block at a bit offset that advances by
//! 11 per byte (wrapping around the block), and the input length, as a
//! little-endian 64-bit number, is XORed into the block's last 8 bytes. The
//! 20 bytes are sent base64-encoded.

/// Width of the block in bits.
const WIDTH: usize = 160;
/// How far each byte's position moves.
const SHIFT: usize = 11;

/// An incremental QuickXorHash.
#[derive(Debug, Clone)]
pub struct QuickXor {
    block: [u8; WIDTH / 8],
    /// Bit offset of the next byte within the block.
    offset: usize,
    length: u64,
}

impl Default for QuickXor {
    fn default() -> Self {
        Self::new()
    }
}

impl QuickXor {
    pub fn new() -> Self {
        Self {
            block: [0; WIDTH / 8],
            offset: 0,
            length: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            let (index, bit) = (self.offset / 8, self.offset % 8);
            let wide = u16::from(byte) << bit;
            let [low, high] = wide.to_le_bytes();
            self.block[index] ^= low;
            if high != 0 {
                // The byte straddles two block bytes (and may wrap to the first).
                self.block[(index + 1) % self.block.len()] ^= high;
            }
            self.offset = (self.offset + SHIFT) % WIDTH;
        }
        self.length = self.length.wrapping_add(data.len() as u64);
    }

    pub fn finish(&self) -> [u8; WIDTH / 8] {
        let mut out = self.block;
        let tail = out.len() - 8;
        for (i, b) in self.length.to_le_bytes().iter().enumerate() {
            out[tail + i] ^= b;
        }
        out
    }

    /// The hash as Graph sends it: base64 of the 20 bytes.
    pub fn base64(&self) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, self.finish())
    }
}

/// The base64 QuickXorHash of `data`.
pub fn quick_xor_hash(data: &[u8]) -> String {
    let mut hash = QuickXor::new();
    hash.update(data);
    hash.base64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_vector() {
        // The example value documented for the quickxorhash packages (PyPI
        // and docs.rs), which check themselves against Microsoft's C# sample.
        assert_eq!(
            quick_xor_hash(b"hello world"),
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
    }

    #[test]
    fn empty_input_is_all_zero() {
        assert_eq!(quick_xor_hash(b""), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    }

    #[test]
    fn chunking_does_not_matter_and_wraps_around_the_block() {
        // More than 160 / gcd(11, 160) bytes, so offsets wrap past the end.
        let data: Vec<u8> = (0..1000_u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = quick_xor_hash(&data);
        let mut parts = QuickXor::new();
        for chunk in data.chunks(37) {
            parts.update(chunk);
        }
        assert_eq!(parts.base64(), whole);
        assert_ne!(quick_xor_hash(&data[1..]), whole);
    }
}
