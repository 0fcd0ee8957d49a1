//! Errors of the decoder wrapper. All of them are recoverable: keep feeding data, and the picture
//! comes back at the next IDR at the latest.

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// OpenH264 could not create or initialise a decoder.
    #[error("cannot create the OpenH264 decoder (code {0})")]
    Create(i64),
    /// OpenH264 reported a bitstream problem for a NAL unit (its `DECODING_STATE` bits).
    #[error("bitstream error in NAL unit {nal_index} (type {nal_type}): {}", describe_state(*state))]
    Bitstream {
        /// `DECODING_STATE` flags returned by OpenH264.
        state: u32,
        /// Index of the NAL unit within the data passed to one `decode` call.
        nal_index: usize,
        /// `nal_unit_type` of that NAL unit.
        nal_type: u8,
    },
    /// A NAL unit larger than OpenH264 accepts (`i32::MAX` bytes).
    #[error("NAL unit of {0} bytes is too large")]
    TooLarge(usize),
    /// OpenH264 returned a picture whose geometry does not make sense.
    #[error("decoder returned an invalid picture ({width}x{height}, strides {y_stride}/{uv_stride})")]
    BadPicture {
        /// Reported width.
        width: i32,
        /// Reported height.
        height: i32,
        /// Reported luma stride.
        y_stride: i32,
        /// Reported chroma stride.
        uv_stride: i32,
    },
}

/// Names the `DECODING_STATE` flags (OpenH264 `codec_def.h`).
pub fn describe_state(state: u32) -> String {
    const NAMES: [(u32, &str); 12] = [
        (0x01, "frame pending"),
        (0x02, "reference lost"),
        (0x04, "bitstream error"),
        (0x08, "dependent layer lost"),
        (0x10, "no parameter sets"),
        (0x20, "data error concealed"),
        (0x40, "null reference list"),
        (0x1000, "invalid argument"),
        (0x2000, "not initialised"),
        (0x4000, "out of memory"),
        (0x8000, "output buffer too small"),
        (0, ""),
    ];
    let names: Vec<&str> =
        NAMES.iter().filter(|(bit, _)| *bit != 0 && state & bit != 0).map(|(_, n)| *n).collect();
    if names.is_empty() { format!("state {state:#x}") } else { names.join(", ") }
}
