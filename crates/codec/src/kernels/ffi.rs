//! `extern "C"` declarations of the simd128 kernels (`csrc/simd/nalcast_simd.h`) and of their C
//! references (`csrc/simd_ref`), linked from the static library build.rs makes.

macro_rules! pair {
    ($($simd:ident, $reference:ident: fn($($arg:ty),*);)*) => {
        unsafe extern "C" {
            $(
                pub(super) fn $simd($(_: $arg),*);
                pub(super) fn $reference($(_: $arg),*);
            )*
        }
    };
}

pair! {
    nalcast_deblock_luma_lt4_v, nalcast_ref_deblock_luma_lt4_v: fn(*mut u8, i32, i32, i32, *mut i8);
    nalcast_deblock_luma_lt4_h, nalcast_ref_deblock_luma_lt4_h: fn(*mut u8, i32, i32, i32, *mut i8);
    nalcast_deblock_luma_eq4_v, nalcast_ref_deblock_luma_eq4_v: fn(*mut u8, i32, i32, i32);
    nalcast_deblock_luma_eq4_h, nalcast_ref_deblock_luma_eq4_h: fn(*mut u8, i32, i32, i32);
    nalcast_deblock_chroma_lt4_v, nalcast_ref_deblock_chroma_lt4_v: fn(*mut u8, *mut u8, i32, i32, i32, *mut i8);
    nalcast_deblock_chroma_lt4_h, nalcast_ref_deblock_chroma_lt4_h: fn(*mut u8, *mut u8, i32, i32, i32, *mut i8);
    nalcast_deblock_chroma_eq4_v, nalcast_ref_deblock_chroma_eq4_v: fn(*mut u8, *mut u8, i32, i32, i32);
    nalcast_deblock_chroma_eq4_h, nalcast_ref_deblock_chroma_eq4_h: fn(*mut u8, *mut u8, i32, i32, i32);
    nalcast_mc_copy, nalcast_ref_mc_copy: fn(*const u8, i32, *mut u8, i32, i32, i32);
    nalcast_mc_chroma, nalcast_ref_mc_chroma: fn(*const u8, i32, *mut u8, i32, i16, i16, i32, i32);
    nalcast_mc_luma, nalcast_ref_mc_luma: fn(*const u8, i32, *mut u8, i32, i16, i16, i32, i32);
    nalcast_idct4x4_add, nalcast_ref_idct4x4_add: fn(*mut u8, i32, *mut i16);
    nalcast_idct8x8_add, nalcast_ref_idct8x8_add: fn(*mut u8, i32, *mut i16);
    nalcast_expand_picture_luma, nalcast_ref_expand_picture_luma: fn(*mut u8, i32, i32, i32);
    nalcast_expand_picture_chroma, nalcast_ref_expand_picture_chroma: fn(*mut u8, i32, i32, i32);
}

// Weighting: our kernels work per plane, OpenH264's functions per block (luma and both chroma).
unsafe extern "C" {
    pub(super) fn nalcast_weight_plane(
        dst: *mut u8,
        stride: i32,
        w: i32,
        h: i32,
        log2: i32,
        weight: i32,
        offset: i32,
    );
    pub(super) fn nalcast_biweight_plane(
        dst: *mut u8,
        src2: *const u8,
        stride: i32,
        w: i32,
        h: i32,
        log2: i32,
        weight1: i32,
        weight2: i32,
        offset: i32,
    );
    pub(super) fn nalcast_ref_weight_block(
        planes: *const *mut u8,
        stride_y: i32,
        stride_c: i32,
        w: i32,
        h: i32,
        luma_log2: u32,
        chroma_log2: u32,
        wo: *const i32,
    );
    pub(super) fn nalcast_ref_biweight_block(
        planes: *const *mut u8,
        others: *const *mut u8,
        stride_y: i32,
        stride_c: i32,
        w: i32,
        h: i32,
        luma_log2: u32,
        chroma_log2: u32,
        mode: i32,
        wo1: *const i32,
        wo2: *const i32,
    );
}
