//! Test-only access (feature `kernel-tests`, wasm32 with simd128) to the decoder's hot kernels in
//! both versions: OpenH264's portable C reference and nalcast's simd128 kernel that the build patches
//! in (`crates/codec/csrc/simd`). Every function checks that the buffers cover every byte the kernel
//! touches before calling it, so the tests can drive both with random geometry from safe code.

mod ffi;

/// Which implementation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// OpenH264's C function (or, for weighting, its loops restated in `csrc/simd_ref`).
    Reference,
    /// nalcast's simd128 kernel.
    Simd,
}

/// Direction of the edge a deblocking filter runs across.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// A horizontal edge: samples above (p) and below (q), across 16 (luma) or 8 (chroma) columns.
    Horizontal,
    /// A vertical edge: samples left (p) and right (q), across 16 (luma) or 8 (chroma) rows.
    Vertical,
}

/// A kernel call whose buffers or geometry do not hold what the kernel would touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("kernel arguments out of bounds or invalid")]
pub struct BadArgs;

/// Checks that `[at + lo, at + hi)` lies inside a buffer of `len` bytes (`lo` may be negative).
fn window(len: usize, at: usize, lo: isize, hi: isize) -> Result<(), BadArgs> {
    let start = at.checked_add_signed(lo).ok_or(BadArgs)?;
    let end = at.checked_add_signed(hi).ok_or(BadArgs)?;
    if start <= end && end <= len { Ok(()) } else { Err(BadArgs) }
}

fn stride_i32(stride: usize, min: usize) -> Result<(i32, isize), BadArgs> {
    if stride < min {
        return Err(BadArgs);
    }
    Ok((i32::try_from(stride).map_err(|_| BadArgs)?, isize::try_from(stride).map_err(|_| BadArgs)?))
}

/// Luma deblocking with bS < 4 on the edge whose first q sample is `buf[at]`; `tc` is tc0 per four
/// samples along the edge (negative: not filtered).
#[allow(clippy::too_many_arguments)]
pub fn deblock_luma_lt4(
    imp: Impl,
    edge: Edge,
    buf: &mut [u8],
    stride: usize,
    at: usize,
    alpha: i32,
    beta: i32,
    mut tc: [i8; 4],
) -> Result<(), BadArgs> {
    luma_window(edge, buf.len(), stride, at)?;
    let (s, _) = stride_i32(stride, 16)?;
    let p = buf[at..].as_mut_ptr();
    let f = match (imp, edge) {
        (Impl::Reference, Edge::Horizontal) => ffi::nalcast_ref_deblock_luma_lt4_v,
        (Impl::Reference, Edge::Vertical) => ffi::nalcast_ref_deblock_luma_lt4_h,
        (Impl::Simd, Edge::Horizontal) => ffi::nalcast_deblock_luma_lt4_v,
        (Impl::Simd, Edge::Vertical) => ffi::nalcast_deblock_luma_lt4_h,
    };
    // SAFETY: luma_window checked that the 8 samples across the edge (4 each side) of all 16 lines
    // lie inside `buf`; `p` points into it and `tc` is a live 4-byte array.
    unsafe { f(p, s, alpha, beta, tc.as_mut_ptr()) };
    Ok(())
}

/// Luma deblocking with bS = 4 on the edge whose first q sample is `buf[at]`.
pub fn deblock_luma_eq4(
    imp: Impl,
    edge: Edge,
    buf: &mut [u8],
    stride: usize,
    at: usize,
    alpha: i32,
    beta: i32,
) -> Result<(), BadArgs> {
    luma_window(edge, buf.len(), stride, at)?;
    let (s, _) = stride_i32(stride, 16)?;
    let p = buf[at..].as_mut_ptr();
    let f = match (imp, edge) {
        (Impl::Reference, Edge::Horizontal) => ffi::nalcast_ref_deblock_luma_eq4_v,
        (Impl::Reference, Edge::Vertical) => ffi::nalcast_ref_deblock_luma_eq4_h,
        (Impl::Simd, Edge::Horizontal) => ffi::nalcast_deblock_luma_eq4_v,
        (Impl::Simd, Edge::Vertical) => ffi::nalcast_deblock_luma_eq4_h,
    };
    // SAFETY: as in deblock_luma_lt4.
    unsafe { f(p, s, alpha, beta) };
    Ok(())
}

fn luma_window(edge: Edge, len: usize, stride: usize, at: usize) -> Result<(), BadArgs> {
    let (_, s) = stride_i32(stride, 16)?;
    match edge {
        Edge::Horizontal => window(len, at, -4 * s, 3 * s + 16),
        Edge::Vertical => window(len, at, -4, 15 * s + 4),
    }
}

fn chroma_window(edge: Edge, len: usize, stride: usize, at: usize) -> Result<(), BadArgs> {
    let (_, s) = stride_i32(stride, 8)?;
    match edge {
        Edge::Horizontal => window(len, at, -2 * s, s + 8),
        Edge::Vertical => window(len, at, -2, 7 * s + 2),
    }
}

/// Chroma deblocking with bS < 4 of the same edge in `cb` and `cr` (same geometry); `tc` is tc0 per
/// two samples along the edge (zero or negative: not filtered).
#[allow(clippy::too_many_arguments)]
pub fn deblock_chroma_lt4(
    imp: Impl,
    edge: Edge,
    cb: &mut [u8],
    cr: &mut [u8],
    stride: usize,
    at: usize,
    alpha: i32,
    beta: i32,
    mut tc: [i8; 4],
) -> Result<(), BadArgs> {
    chroma_window(edge, cb.len(), stride, at)?;
    chroma_window(edge, cr.len(), stride, at)?;
    let (s, _) = stride_i32(stride, 8)?;
    let f = match (imp, edge) {
        (Impl::Reference, Edge::Horizontal) => ffi::nalcast_ref_deblock_chroma_lt4_v,
        (Impl::Reference, Edge::Vertical) => ffi::nalcast_ref_deblock_chroma_lt4_h,
        (Impl::Simd, Edge::Horizontal) => ffi::nalcast_deblock_chroma_lt4_v,
        (Impl::Simd, Edge::Vertical) => ffi::nalcast_deblock_chroma_lt4_h,
    };
    // SAFETY: chroma_window checked both planes for the 4 samples across the edge (2 each side) of
    // all 8 lines; the pointers point into distinct live slices and `tc` is a live 4-byte array.
    unsafe { f(cb[at..].as_mut_ptr(), cr[at..].as_mut_ptr(), s, alpha, beta, tc.as_mut_ptr()) };
    Ok(())
}

/// Chroma deblocking with bS = 4 of the same edge in `cb` and `cr`.
#[allow(clippy::too_many_arguments)]
pub fn deblock_chroma_eq4(
    imp: Impl,
    edge: Edge,
    cb: &mut [u8],
    cr: &mut [u8],
    stride: usize,
    at: usize,
    alpha: i32,
    beta: i32,
) -> Result<(), BadArgs> {
    chroma_window(edge, cb.len(), stride, at)?;
    chroma_window(edge, cr.len(), stride, at)?;
    let (s, _) = stride_i32(stride, 8)?;
    let f = match (imp, edge) {
        (Impl::Reference, Edge::Horizontal) => ffi::nalcast_ref_deblock_chroma_eq4_v,
        (Impl::Reference, Edge::Vertical) => ffi::nalcast_ref_deblock_chroma_eq4_h,
        (Impl::Simd, Edge::Horizontal) => ffi::nalcast_deblock_chroma_eq4_v,
        (Impl::Simd, Edge::Vertical) => ffi::nalcast_deblock_chroma_eq4_h,
    };
    // SAFETY: as in deblock_chroma_lt4.
    unsafe { f(cb[at..].as_mut_ptr(), cr[at..].as_mut_ptr(), s, alpha, beta) };
    Ok(())
}

/// A block of `width` x `height` samples at `at` in a plane with `stride`.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// Offset of the top-left sample.
    pub at: usize,
    /// Distance between rows.
    pub stride: usize,
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl Block {
    /// Checks the block (grown by `extra` columns and rows) lies in `len` bytes; returns the C stride.
    fn check(&self, len: usize, extra: usize) -> Result<i32, BadArgs> {
        let (s, si) = stride_i32(self.stride, self.width)?;
        if self.width == 0 || self.height == 0 || self.width > 16 || self.height > 16 {
            return Err(BadArgs);
        }
        let rows = isize::try_from(self.height - 1 + extra).map_err(|_| BadArgs)?;
        window(len, self.at, 0, rows * si + isize::try_from(self.width + extra).map_err(|_| BadArgs)?)?;
        Ok(s)
    }
    fn dims(&self) -> (i32, i32) {
        (self.width as i32, self.height as i32) // both at most 16: checked by `check`
    }
}

/// Full-pel block copy (width 2, 4, 8 or 16).
pub fn mc_copy(
    imp: Impl,
    src: &[u8],
    from: Block,
    dst: &mut [u8],
    to_at: usize,
    to_stride: usize,
) -> Result<(), BadArgs> {
    if ![2, 4, 8, 16].contains(&from.width) {
        return Err(BadArgs);
    }
    let ss = from.check(src.len(), 0)?;
    let to = Block { at: to_at, stride: to_stride, ..from };
    let ds = to.check(dst.len(), 0)?;
    let (w, h) = from.dims();
    let f = match imp {
        Impl::Reference => ffi::nalcast_ref_mc_copy,
        Impl::Simd => ffi::nalcast_mc_copy,
    };
    // SAFETY: both blocks were checked against their slices, which are distinct.
    unsafe { f(src[from.at..].as_ptr(), ss, dst[to_at..].as_mut_ptr(), ds, w, h) };
    Ok(())
}

/// Chroma eighth-pel interpolation of a `from.width` x `from.height` block (reads one more row and
/// column) with motion vector fraction `mv & 7`.
pub fn mc_chroma(
    imp: Impl,
    src: &[u8],
    from: Block,
    dst: &mut [u8],
    to_at: usize,
    to_stride: usize,
    mv: (i16, i16),
) -> Result<(), BadArgs> {
    if ![2, 4, 8].contains(&from.width) {
        return Err(BadArgs);
    }
    let ss = from.check(src.len(), 1)?;
    let to = Block { at: to_at, stride: to_stride, ..from };
    let ds = to.check(dst.len(), 0)?;
    let (w, h) = from.dims();
    let f = match imp {
        Impl::Reference => ffi::nalcast_ref_mc_chroma,
        Impl::Simd => ffi::nalcast_mc_chroma,
    };
    // SAFETY: the source block with its extra row and column, and the destination block, were
    // checked against their distinct slices.
    unsafe { f(src[from.at..].as_ptr(), ss, dst[to_at..].as_mut_ptr(), ds, mv.0, mv.1, w, h) };
    Ok(())
}

/// Luma quarter-sample interpolation of a `from.width` (4, 8 or 16) x `from.height` block with motion
/// vector fraction `mv & 3`: reads 2 samples before and 3 after the block in each direction.
pub fn mc_luma(
    imp: Impl,
    src: &[u8],
    from: Block,
    dst: &mut [u8],
    to_at: usize,
    to_stride: usize,
    mv: (i16, i16),
) -> Result<(), BadArgs> {
    if ![4, 8, 16].contains(&from.width) {
        return Err(BadArgs);
    }
    // The block grown by 2 rows/columns before (checked as a block starting there) and 3 after.
    let grown_at = from.at.checked_sub(2 * from.stride + 2).ok_or(BadArgs)?;
    let ss = Block { at: grown_at, ..from }.check(src.len(), 5)?;
    let to = Block { at: to_at, stride: to_stride, ..from };
    let ds = to.check(dst.len(), 0)?;
    let (w, h) = from.dims();
    let f = match imp {
        Impl::Reference => ffi::nalcast_ref_mc_luma,
        Impl::Simd => ffi::nalcast_mc_luma,
    };
    // SAFETY: the source block with its 6-tap margins, and the destination block, were checked
    // against their distinct slices.
    unsafe { f(src[from.at..].as_ptr(), ss, dst[to_at..].as_mut_ptr(), ds, mv.0, mv.1, w, h) };
    Ok(())
}

/// Weights and offsets of reference 0 in one list: luma weight, luma offset, Cb weight, Cb offset,
/// Cr weight, Cr offset.
pub type ListWeights = [i32; 6];

/// How two predictions are combined.
#[derive(Debug, Clone, Copy)]
pub enum BiMode {
    /// Plain rounded average (OpenH264's `BiPrediction`).
    Average,
    /// Explicit weights of list 0 and list 1 (`BiWeightPrediction`, weighted_bipred_idc 1).
    Explicit(ListWeights, ListWeights),
    /// Implicit weight `w1` of list 0, `64 - w1` for list 1 (weighted_bipred_idc 2).
    Implicit(i32),
}

/// A prediction block in its three planes, each starting at index 0 of its slice: a
/// `width` x `height` luma block and two `width / 2` x `height / 2` chroma blocks.
#[derive(Debug)]
pub struct PredBlock<'a> {
    /// Y, Cb and Cr.
    pub planes: [&'a mut [u8]; 3],
    /// Luma row distance.
    pub stride_y: usize,
    /// Chroma row distance.
    pub stride_c: usize,
    /// Luma width: 4, 8 or 16.
    pub width: usize,
    /// Luma height: 4, 8 or 16.
    pub height: usize,
}

impl PredBlock<'_> {
    /// Checks all three blocks; returns the luma and chroma C strides.
    fn check(&self) -> Result<(i32, i32), BadArgs> {
        if ![4, 8, 16].contains(&self.width) || ![4, 8, 16].contains(&self.height) {
            return Err(BadArgs);
        }
        let luma = Block { at: 0, stride: self.stride_y, width: self.width, height: self.height };
        let chroma = Block { at: 0, stride: self.stride_c, width: self.width / 2, height: self.height / 2 };
        let sy = luma.check(self.planes[0].len(), 0)?;
        let sc = chroma.check(self.planes[1].len(), 0)?;
        chroma.check(self.planes[2].len(), 0)?;
        Ok((sy, sc))
    }
    fn pointers(&mut self) -> [*mut u8; 3] {
        [self.planes[0].as_mut_ptr(), self.planes[1].as_mut_ptr(), self.planes[2].as_mut_ptr()]
    }
    fn dims(&self) -> (i32, i32) {
        (self.width as i32, self.height as i32) // 4, 8 or 16: checked by `check`
    }
}

fn valid_weights(log2: (i32, i32), wo: &ListWeights) -> Result<(u32, u32), BadArgs> {
    // weights -128..=127 when coded, 2^log2_denom (up to 128) by default; offsets 8-bit
    let ok = (0..3).all(|k| (-128..=128).contains(&wo[2 * k]) && (-128..=127).contains(&wo[2 * k + 1]));
    let d = |x: i32| u32::try_from(x).ok().filter(|d| *d <= 7).ok_or(BadArgs);
    if ok { Ok((d(log2.0)?, d(log2.1)?)) } else { Err(BadArgs) }
}

/// Explicit weighted prediction of a block in place, with luma and chroma denominators `log2`.
pub fn weight_block(imp: Impl, b: &mut PredBlock, log2: (i32, i32), wo: ListWeights) -> Result<(), BadArgs> {
    let (sy, sc) = b.check()?;
    let (dl, dc) = valid_weights(log2, &wo)?;
    let (w, h) = b.dims();
    let p = b.pointers();
    match imp {
        // SAFETY: the three blocks were checked against their slices, which are distinct.
        Impl::Reference => unsafe {
            ffi::nalcast_ref_weight_block(p.as_ptr(), sy, sc, w, h, dl, dc, wo.as_ptr())
        },
        Impl::Simd => {
            // As the patched WeightPrediction calls the kernel: luma, then Cb and Cr.
            // SAFETY: as above.
            unsafe {
                ffi::nalcast_weight_plane(p[0], sy, w, h, log2.0, wo[0], wo[1]);
                for k in 0..2 {
                    ffi::nalcast_weight_plane(
                        p[1 + k],
                        sc,
                        w / 2,
                        h / 2,
                        log2.1,
                        wo[2 + 2 * k],
                        wo[3 + 2 * k],
                    );
                }
            }
        }
    }
    Ok(())
}

/// Bi-prediction of `b` with `other` (same geometry), in place in `b`.
pub fn biweight_block(
    imp: Impl,
    b: &mut PredBlock,
    other: &mut PredBlock,
    log2: (i32, i32),
    mode: BiMode,
) -> Result<(), BadArgs> {
    let (sy, sc) = b.check()?;
    if other.check()? != (sy, sc) || (other.width, other.height) != (b.width, b.height) {
        return Err(BadArgs);
    }
    let (code, wo1, wo2) = match mode {
        BiMode::Average => (0, [0; 6], [0; 6]),
        BiMode::Explicit(wo1, wo2) => (1, wo1, wo2),
        BiMode::Implicit(w1) if (-64..=128).contains(&w1) => {
            (2, [w1, 0, 0, 0, 0, 0], [64 - w1, 0, 0, 0, 0, 0])
        }
        BiMode::Implicit(_) => return Err(BadArgs),
    };
    let (dl, dc) = valid_weights(log2, &wo1)?;
    valid_weights(log2, &wo2)?;
    let (w, h) = b.dims();
    let (p, q) = (b.pointers(), other.pointers());
    match imp {
        // SAFETY: all six blocks were checked against their slices, which are distinct.
        Impl::Reference => unsafe {
            ffi::nalcast_ref_biweight_block(
                p.as_ptr(),
                q.as_ptr(),
                sy,
                sc,
                w,
                h,
                dl,
                dc,
                code,
                wo1.as_ptr(),
                wo2.as_ptr(),
            )
        },
        Impl::Simd => {
            // As the patched BiWeightPrediction / BiPrediction call the kernel, plane by plane:
            // (weight 1, weight 2, offset) of luma, Cb, Cr.
            let planes: [(i32, i32, i32); 3] = match mode {
                BiMode::Average => [(1, 1, 0); 3],
                BiMode::Implicit(w1) => [(w1, 64 - w1, 0); 3],
                BiMode::Explicit(a, b) => {
                    [0, 1, 2].map(|k| (a[2 * k], b[2 * k], (a[2 * k + 1] + b[2 * k + 1] + 1) >> 1))
                }
            };
            for (k, (w1, w2, o)) in planes.into_iter().enumerate() {
                let (stride, pw, ph) = if k == 0 { (sy, w, h) } else { (sc, w / 2, h / 2) };
                let d = match (mode, k) {
                    (BiMode::Average, _) => 0,
                    (_, 0) => log2.0,
                    _ => log2.1,
                };
                // SAFETY: as above.
                unsafe { ffi::nalcast_biweight_plane(p[k], q[k], stride, pw, ph, d, w1, w2, o) };
            }
        }
    }
    Ok(())
}

/// Inverse 4x4 transform of `coeffs` added to the 4x4 prediction at `at`, in place.
pub fn idct4x4_add(
    imp: Impl,
    buf: &mut [u8],
    at: usize,
    stride: usize,
    coeffs: &[i16; 16],
) -> Result<(), BadArgs> {
    let kernels = (ffi::nalcast_ref_idct4x4_add as IdctFn, ffi::nalcast_idct4x4_add as IdctFn);
    idct_add(imp, kernels, 4, buf, at, stride, &mut { *coeffs })
}

/// Inverse 8x8 transform of `coeffs` (row-major) added to the 8x8 prediction at `at`, in place.
pub fn idct8x8_add(
    imp: Impl,
    buf: &mut [u8],
    at: usize,
    stride: usize,
    coeffs: &[i16; 64],
) -> Result<(), BadArgs> {
    let kernels = (ffi::nalcast_ref_idct8x8_add as IdctFn, ffi::nalcast_idct8x8_add as IdctFn);
    idct_add(imp, kernels, 8, buf, at, stride, &mut { *coeffs })
}

/// An inverse transform + add kernel: `(prediction, stride, coefficients)`.
type IdctFn = unsafe extern "C" fn(*mut u8, i32, *mut i16);

/// Runs the `n`x`n` transform (`kernels`: reference, simd) on a copy of the coefficients.
fn idct_add(
    imp: Impl,
    kernels: (IdctFn, IdctFn),
    n: usize,
    buf: &mut [u8],
    at: usize,
    stride: usize,
    coeffs: &mut [i16],
) -> Result<(), BadArgs> {
    let block = Block { at, stride, width: n, height: n };
    let s = block.check(buf.len(), 0)?;
    if coeffs.len() != n * n {
        return Err(BadArgs);
    }
    let f = match imp {
        Impl::Reference => kernels.0,
        Impl::Simd => kernels.1,
    };
    // SAFETY: the n x n block was checked against `buf`; `coeffs` holds the n*n coefficients the
    // kernel reads and rewrites.
    unsafe { f(buf[at..].as_mut_ptr(), s, coeffs.as_mut_ptr()) };
    Ok(())
}

/// Border extension of a `width` x `height` picture whose first sample is `buf[at]`: `pad` samples on
/// every side (32 for luma, 16 for chroma) take the value of the nearest picture sample.
pub fn expand_picture(
    imp: Impl,
    luma: bool,
    buf: &mut [u8],
    at: usize,
    stride: usize,
    width: usize,
    height: usize,
) -> Result<usize, BadArgs> {
    let pad = if luma { 32 } else { 16 };
    if width == 0 || height == 0 {
        return Err(BadArgs);
    }
    let (s, si) = stride_i32(stride, width.checked_add(2 * pad).ok_or(BadArgs)?)?;
    let (w, h, p) = (
        isize::try_from(width).map_err(|_| BadArgs)?,
        isize::try_from(height).map_err(|_| BadArgs)?,
        pad as isize,
    );
    window(buf.len(), at, -p * si - p, (h - 1 + p) * si + w + p)?;
    let f = match (imp, luma) {
        (Impl::Reference, true) => ffi::nalcast_ref_expand_picture_luma,
        (Impl::Reference, false) => ffi::nalcast_ref_expand_picture_chroma,
        (Impl::Simd, true) => ffi::nalcast_expand_picture_luma,
        (Impl::Simd, false) => ffi::nalcast_expand_picture_chroma,
    };
    let (wi, hi) = (i32::try_from(width).map_err(|_| BadArgs)?, i32::try_from(height).map_err(|_| BadArgs)?);
    // SAFETY: the picture with its padding on all sides was checked against `buf`, and the stride
    // leaves room for both side borders, so rows do not overlap.
    unsafe { f(buf[at..].as_mut_ptr(), s, wi, hi) };
    Ok(pad)
}
