//! Facts the player needs from a sequence parameter set (H.264 7.3.2.1.1, read by
//! [`crate::params`]): picture size, profile and the colour description of the VUI (H.264 E.2.1),
//! which chooses the YUV→RGB matrix.

use crate::bits::ParamError;
use crate::params::Sps;

/// Why an SPS could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpsError {
    /// The NAL unit is not an SPS (`nal_unit_type` 7).
    #[error("NAL unit type {0} is not an SPS")]
    NotSps(u8),
    /// The SPS does not parse.
    #[error("malformed SPS: {0}")]
    Malformed(#[from] ParamError),
}

/// Which Y'CbCr→R'G'B' matrix (H.264 Table E-5, `matrix_coefficients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matrix {
    /// ITU-R BT.601 (values 5, 6, and unspecified SD content).
    #[default]
    Bt601,
    /// ITU-R BT.709 (value 1, and unspecified HD content).
    Bt709,
}

/// How samples map to colours: matrix and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColorSpace {
    /// The conversion matrix.
    pub matrix: Matrix,
    /// `video_full_range_flag`: samples use 0..=255 instead of 16..=235 (luma) / 16..=240 (chroma).
    pub full_range: bool,
}

/// What the player needs to know about a stream from its SPS.
#[derive(Debug, Clone, PartialEq)]
pub struct SpsInfo {
    /// Cropped picture width in pixels.
    pub width: u32,
    /// Cropped picture height in pixels.
    pub height: u32,
    /// `profile_idc`.
    pub profile_idc: u8,
    /// The constraint flags byte.
    pub constraint_flags: u8,
    /// `level_idc`.
    pub level_idc: u8,
    /// Colour description; defaults by picture size when the VUI leaves it unspecified.
    pub color: ColorSpace,
    /// Frame rate from the VUI timing info, if present.
    pub fps: Option<f64>,
    /// `pic_order_cnt_type`: with 2, pictures come out in decoding order (H.264 8.2.1.3), so no
    /// decoder ever holds one back for reordering.
    pub poc_type: u8,
}

impl SpsInfo {
    /// Parses an SPS NAL unit (header byte first, no start code).
    pub fn parse(nal: &[u8]) -> Result<SpsInfo, SpsError> {
        let nal_type = nal.first().map(|b| b & 0x1f).unwrap_or(0);
        if nal_type != 7 {
            return Err(SpsError::NotSps(nal_type));
        }
        let sps = Sps::parse(&nal[1..])?;
        let (width, height) = (sps.width, sps.height);
        let matrix = match sps.matrix_coefficients {
            Some(1) => Matrix::Bt709,
            Some(5 | 6) => Matrix::Bt601,
            // Unspecified (2) or absent: the common convention is BT.709 for HD, BT.601 for SD.
            _ if height >= 720 => Matrix::Bt709,
            _ => Matrix::Bt601,
        };
        let fps = sps
            .timing
            .filter(|&(tick, scale)| tick > 0 && scale > 0)
            .map(|(tick, scale)| f64::from(scale) / (2.0 * f64::from(tick)));
        Ok(SpsInfo {
            width,
            height,
            profile_idc: sps.profile_idc,
            constraint_flags: sps.constraint_flags,
            level_idc: sps.level_idc,
            color: ColorSpace { matrix, full_range: sps.full_range },
            fps,
            poc_type: sps.poc_type,
        })
    }

    /// The RFC 6381 codec string, e.g. `avc1.42C01E`, as WebCodecs and MSE expect it.
    pub fn codec_string(&self) -> String {
        format!("avc1.{:02X}{:02X}{:02X}", self.profile_idc, self.constraint_flags, self.level_idc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPS of a 176x144 Constrained Baseline stream (BA_MW_D.264): no VUI.
    const SPS_QCIF: [u8; 9] = [0x67, 0x42, 0xe0, 0x0a, 0x96, 0x52, 0x85, 0x89, 0xc8];

    #[test]
    fn parses_size_profile_and_default_colour() {
        let info = SpsInfo::parse(&SPS_QCIF).expect("valid SPS");
        assert_eq!((info.width, info.height), (176, 144));
        assert_eq!(info.profile_idc, 66);
        assert_eq!(info.poc_type, 0);
        assert_eq!(info.color, ColorSpace { matrix: Matrix::Bt601, full_range: false });
        assert!(info.codec_string().starts_with("avc1.42"));
    }

    #[test]
    fn rejects_other_nal_types_and_garbage() {
        assert_eq!(SpsInfo::parse(&[0x68, 1, 2]), Err(SpsError::NotSps(8)));
        assert_eq!(SpsInfo::parse(&[]), Err(SpsError::NotSps(0)));
        for len in 1..SPS_QCIF.len() {
            let _ = SpsInfo::parse(&SPS_QCIF[..len]); // must not panic
        }
        let mut flipped = SPS_QCIF;
        for i in 1..flipped.len() * 8 {
            flipped[i / 8] ^= 1 << (i % 8);
            let _ = SpsInfo::parse(&flipped);
            flipped[i / 8] ^= 1 << (i % 8);
        }
    }
}
