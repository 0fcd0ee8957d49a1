//! Sorting the short windows that statistics take percentiles of (64 values or fewer; at most 1024
//! overlay ages per report, about 0.3 ms): an insertion sort. Each of the standard library's sorts
//! adds about 4 KB of code per element type to the wasm client.

/// Sorts `xs` in place by `less`, stably; quadratic, so only for short slices.
pub fn sort_small_by<T: Copy>(xs: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..xs.len() {
        let x = xs[i];
        let mut j = i;
        while j > 0 && less(&x, &xs[j - 1]) {
            xs[j] = xs[j - 1];
            j -= 1;
        }
        xs[j] = x;
    }
}

/// Sorts floats in `f64::total_cmp` order (NaNs last, as `sort_by(f64::total_cmp)` puts positive NaNs).
pub fn sort_floats(xs: &mut [f64]) {
    sort_small_by(xs, |a, b| a.total_cmp(b).is_lt());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_library() {
        let mut x: u64 = 99;
        for len in 0..70 {
            let mut ints: Vec<u64> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (x >> 33) % 16
                })
                .collect();
            let mut floats: Vec<f64> = ints.iter().map(|&i| i as f64 * 0.5 - 3.0).collect();
            if len % 7 == 3 {
                floats[len / 2] = f64::NAN;
                floats[0] = -0.0;
            }
            let (mut want_i, mut want_f) = (ints.clone(), floats.clone());
            want_i.sort();
            want_f.sort_by(f64::total_cmp);
            sort_small_by(&mut ints, |a, b| a < b);
            sort_floats(&mut floats);
            assert_eq!(ints, want_i);
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&floats), bits(&want_f));
        }
    }
}
