//! The detection model contract on top of KServe outputs: `boxes` FP32 `[N, 4]` (x, y, w, h in input
//! pixels), `scores` FP32 `[N]`, optional `labels` BYTES `[N]`, turned into wire [`Detection`]s clamped
//! to the picture, best first, at most [`MAX_DETECTIONS`]. Pure: no I/O.

use super::tensor::{InferResponse, TensorError};
use nalcast_proto::wire::{Detection, MAX_DETECTIONS, MAX_TEXT};

/// Output names of the contract.
pub const OUTPUTS: [&str; 3] = ["boxes", "scores", "labels"];

/// The detections in `response` for a `width` × `height` picture; `default_label` names boxes when
/// the model sends no labels. Boxes that are empty after clamping, or not finite, are dropped (a
/// server that cannot send zero-length tensors answers "nothing" with one empty box).
pub fn detections(
    response: &InferResponse,
    width: usize,
    height: usize,
    default_label: &str,
) -> Result<Vec<Detection>, TensorError> {
    let (boxes, shape) = response.fp32("boxes")?;
    let n = match shape.as_slice() {
        [n, 4] => *n,
        other => {
            return Err(TensorError::Layout {
                name: "boxes".into(),
                why: format!("shape {other:?}, expected [N, 4]"),
            });
        }
    };
    let (scores, _) = response.fp32("scores")?;
    if scores.len() != n {
        return Err(TensorError::Layout {
            name: "scores".into(),
            why: format!("{} scores for {n} boxes", scores.len()),
        });
    }
    let labels = match response.output("labels") {
        Some(_) => Some(response.bytes("labels")?),
        None => None,
    };
    if let Some(count) = labels.as_ref().map(Vec::len).filter(|count| *count != n) {
        return Err(TensorError::Layout {
            name: "labels".into(),
            why: format!("{count} labels for {n} boxes"),
        });
    }
    let (fw, fh) = (width.min(usize::from(u16::MAX)) as f32, height.min(usize::from(u16::MAX)) as f32);
    let mut found = Vec::with_capacity(n.min(MAX_DETECTIONS * 4));
    for (i, (b, score)) in boxes.chunks_exact(4).zip(&scores).enumerate() {
        let Some((x, y, w, h)) = clamp(b, fw, fh) else { continue };
        let label = match labels.as_ref().and_then(|l| l.get(i)) {
            Some(bytes) => text(bytes),
            None => text(default_label.as_bytes()),
        };
        found.push(Detection { x, y, w, h, score: Detection::score_from_f32(*score), label });
    }
    // Best first; the cap keeps the most confident.
    found.sort_by_key(|d| std::cmp::Reverse(d.score));
    found.truncate(MAX_DETECTIONS);
    Ok(found)
}

/// A box clipped to `[0, fw) × [0, fh)`, in whole pixels (outward rounding), or `None` if it is not
/// finite or empty.
fn clamp(b: &[f32], fw: f32, fh: f32) -> Option<(u16, u16, u16, u16)> {
    let (x, y, w, h) = (b[0], b[1], b[2], b[3]);
    if !(x.is_finite() && y.is_finite() && w.is_finite() && h.is_finite()) {
        return None;
    }
    let x0 = x.floor().clamp(0.0, fw);
    let y0 = y.floor().clamp(0.0, fh);
    let x1 = (x + w).ceil().clamp(0.0, fw);
    let y1 = (y + h).ceil().clamp(0.0, fh);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    // All four are within 0..=65535 after the clamps.
    Some((x0 as u16, y0 as u16, (x1 - x0) as u16, (y1 - y0) as u16))
}

/// A label as wire text: UTF-8 (lossy), at most [`MAX_TEXT`] bytes, cut at a character boundary.
fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::kserve::tensor::decode_response;

    fn response(boxes: &[f32], scores: &[f32], labels: Option<&[&str]>) -> InferResponse {
        let n = scores.len();
        let mut outputs = vec![
            format!(
                r#"{{"name":"boxes","datatype":"FP32","shape":[{},4],"data":{boxes:?}}}"#,
                boxes.len() / 4
            ),
            format!(r#"{{"name":"scores","datatype":"FP32","shape":[{n}],"data":{scores:?}}}"#),
        ];
        if let Some(labels) = labels {
            outputs.push(format!(
                r#"{{"name":"labels","datatype":"BYTES","shape":[{}],"data":{labels:?}}}"#,
                labels.len()
            ));
        }
        let body = format!(r#"{{"outputs":[{}]}}"#, outputs.join(","));
        decode_response(body.into_bytes(), None).expect("test response decodes")
    }

    #[test]
    fn clamps_sorts_and_labels() {
        let r = response(
            &[-5.0, 10.5, 20.0, 20.0, 90.0, 50.0, 40.0, 40.0, 1.0, 1.0, 0.0, 0.0],
            &[0.5, 0.9, 1.0],
            Some(&["a", "b", "empty"]),
        );
        let d = detections(&r, 100, 60, "model").expect("ok");
        assert_eq!(d.len(), 2, "the empty box is dropped: {d:?}");
        assert_eq!(
            (d[0].x, d[0].y, d[0].w, d[0].h, d[0].score, d[0].label.as_str()),
            (90, 50, 10, 10, 9000, "b")
        );
        assert_eq!(
            (d[1].x, d[1].y, d[1].w, d[1].h, d[1].score, d[1].label.as_str()),
            (0, 10, 15, 21, 5000, "a")
        );
    }

    #[test]
    fn default_label_and_cap() {
        let n = MAX_DETECTIONS + 10;
        let boxes: Vec<f32> = (0..n).flat_map(|i| [i as f32 % 50.0, 0.0, 2.0, 2.0]).collect();
        let scores: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
        let d = detections(&response(&boxes, &scores, None), 64, 64, "boxfinder").expect("ok");
        assert_eq!(d.len(), MAX_DETECTIONS);
        assert!(d.iter().all(|d| d.label == "boxfinder"));
        assert!(d.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn mismatched_outputs_are_errors() {
        assert!(detections(&response(&[0.0; 8], &[1.0], None), 10, 10, "m").is_err());
        assert!(detections(&response(&[0.0; 4], &[1.0], Some(&["a", "b"])), 10, 10, "m").is_err());
        let r = decode_response(
            br#"{"outputs":[{"name":"boxes","datatype":"FP32","shape":[4],"data":[0,0,1,1]}]}"#.to_vec(),
            None,
        )
        .expect("decodes");
        assert!(detections(&r, 10, 10, "m").is_err());
    }

    #[test]
    fn labels_are_wire_text() {
        let long = "é".repeat(200);
        assert!(text(long.as_bytes()).len() <= MAX_TEXT);
        assert_eq!(text(b"\xffa"), "\u{fffd}a");
    }
}
