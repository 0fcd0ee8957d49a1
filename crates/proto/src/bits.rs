//! Reading the bits of an H.264 RBSP straight from a NAL unit's bytes: emulation-prevention bytes
//! (`00 00 03`, H.264 7.4.1) are dropped as they are met, so nothing is copied, and Exp-Golomb
//! codes (9.1) are read with their length checked. Running out of bytes is an error, never a panic.

/// Why a syntax element could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BitsError {
    /// The NAL unit ends inside the element.
    #[error("the NAL unit ends inside a syntax element")]
    End,
    /// An Exp-Golomb code has more than 31 leading zeros (its value would not fit 32 bits).
    #[error("an Exp-Golomb code longer than 32 bits")]
    TooLong,
}

/// Reads bits, most significant first, from RBSP bytes with emulation prevention still in place.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Zero bytes just read (an `03` after two of them is emulation prevention).
    zeros: u8,
    byte: u8,
    /// Bits of `byte` not read yet.
    left: u8,
}

impl<'a> BitReader<'a> {
    /// A reader over `data`, the bytes after the NAL unit header.
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader { data, pos: 0, zeros: 0, byte: 0, left: 0 }
    }

    fn next_byte(&mut self) -> Result<u8, BitsError> {
        loop {
            let b = *self.data.get(self.pos).ok_or(BitsError::End)?;
            self.pos += 1;
            if self.zeros >= 2 && b == 3 {
                self.zeros = 0;
                continue;
            }
            self.zeros = if b == 0 { self.zeros.saturating_add(1) } else { 0 };
            return Ok(b);
        }
    }

    /// One bit, `u(1)`.
    pub fn bit(&mut self) -> Result<u32, BitsError> {
        if self.left == 0 {
            self.byte = self.next_byte()?;
            self.left = 8;
        }
        self.left -= 1;
        Ok(u32::from(self.byte >> self.left) & 1)
    }

    /// A flag, `u(1)` as a bool.
    pub fn flag(&mut self) -> Result<bool, BitsError> {
        Ok(self.bit()? == 1)
    }

    /// `n` bits (at most 32), `u(n)`.
    pub fn bits(&mut self, n: u32) -> Result<u32, BitsError> {
        debug_assert!(n <= 32);
        let mut v: u64 = 0;
        for _ in 0..n.min(32) {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v as u32)
    }

    /// An unsigned Exp-Golomb code, `ue(v)`.
    pub fn ue(&mut self) -> Result<u32, BitsError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(BitsError::TooLong);
            }
        }
        let rest = u64::from(self.bits(zeros)?);
        u32::try_from((1u64 << zeros) - 1 + rest).map_err(|_| BitsError::TooLong)
    }

    /// A signed Exp-Golomb code, `se(v)` (9.1.1).
    pub fn se(&mut self) -> Result<i32, BitsError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).map_err(|_| BitsError::TooLong)
    }

    /// An `ue(v)` that must be at most `max`; `what` names it in the error.
    pub fn ue_max(&mut self, max: u32, what: &'static str) -> Result<u32, ParamError> {
        let v = self.ue()?;
        if v > max {
            return Err(ParamError::OutOfRange(what));
        }
        Ok(v)
    }
}

/// Why a parameter set or slice header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A syntax element could not be read.
    #[error(transparent)]
    Bits(#[from] BitsError),
    /// A field holds a value the standard does not allow.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// The parameter set it refers to has not been seen.
    #[error("{0} refers to a parameter set not seen")]
    Missing(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_and_exp_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 | 1010 1... : ue 0,1,2,3,4 then u(4)=0b1010
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0010, 0b1101_0100]);
        assert_eq!(r.ue(), Ok(0));
        assert_eq!(r.ue(), Ok(1));
        assert_eq!(r.ue(), Ok(2));
        assert_eq!(r.ue(), Ok(3));
        assert_eq!(r.ue(), Ok(4));
        assert_eq!(r.bits(4), Ok(0b1010));
        // se: codeNum 1 → 1, 2 → −1, 3 → 2, 4 → −2
        let mut r = BitReader::new(&[0b0100_1100, 0b1000_0101]);
        assert_eq!((r.se(), r.se(), r.se(), r.se()), (Ok(1), Ok(-1), Ok(2), Ok(-2)));
    }

    #[test]
    fn drops_emulation_prevention_bytes() {
        // 00 00 03 01 carries 00 00 01; a second 03 right after is data.
        let mut r = BitReader::new(&[0, 0, 3, 1, 3, 0, 0, 3, 3]);
        assert_eq!(r.bits(32), Ok(0x0000_0103));
        assert_eq!(r.bits(16), Ok(0));
        assert_eq!(r.bits(8), Ok(3));
        assert_eq!(r.bit(), Err(BitsError::End));
    }

    #[test]
    fn the_largest_codes_and_too_long_ones() {
        // 31 zeros, 1, 31 ones: 2^32 − 2, the largest ue(v) that fits.
        let mut max = vec![0u8, 0, 0, 1];
        max.extend([0xff; 4]);
        assert_eq!(BitReader::new(&max).ue(), Ok(u32::MAX - 1));
        assert_eq!(BitReader::new(&[0, 0, 0, 0, 0xff]).ue(), Err(BitsError::TooLong));
        assert_eq!(BitReader::new(&[0, 0, 0, 1, 0, 0, 0, 0]).ue(), Ok((1 << 31) - 1));
    }

    #[test]
    fn every_truncation_is_an_error() {
        // ue 3, 0, 7, 1, 4, 2, 0, 8: exactly 32 bits.
        let data = [0x24u8, 0x42, 0x2b, 0x89];
        let mut r = BitReader::new(&data);
        let all: Result<Vec<u32>, _> = (0..8).map(|_| r.ue()).collect();
        assert_eq!(all, Ok(vec![3, 0, 7, 1, 4, 2, 0, 8]));
        for len in 0..data.len() {
            let mut r = BitReader::new(&data[..len]);
            let all: Result<Vec<u32>, _> = (0..8).map(|_| r.ue()).collect();
            assert_eq!(all, Err(BitsError::End), "truncated to {len}");
        }
    }
}
