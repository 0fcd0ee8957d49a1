//! KServe v2 inference messages (the Open Inference Protocol's REST form) with the binary tensor
//! data extension, as pure functions over bytes: building a request for one UINT8 input, and reading
//! the outputs of a response — binary sections (`binary_data_size`, in header order, after a JSON
//! header of `Inference-Header-Content-Length` bytes) or plain JSON `data` arrays.

use serde::Deserialize;
use serde_json::{Value, json};
use std::ops::Range;

/// Why an inference response cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// The JSON header does not parse or lacks required fields.
    #[error("bad JSON header: {0}")]
    Json(String),
    /// `Inference-Header-Content-Length` is not a number or exceeds the body.
    #[error("bad Inference-Header-Content-Length {0:?}")]
    HeaderLength(String),
    /// The binary sections do not add up to the bytes after the header.
    #[error("binary sections need {need} bytes, body has {have}")]
    BinarySize {
        /// Bytes the header announces.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A required output is missing.
    #[error("no output {0:?}")]
    Missing(String),
    /// An output has another datatype than the contract's.
    #[error("output {name:?} is {got}, expected {want}")]
    Datatype {
        /// Output name.
        name: String,
        /// Its datatype.
        got: String,
        /// The contract's.
        want: &'static str,
    },
    /// An output's shape, size or element layout is wrong.
    #[error("output {name:?}: {why}")]
    Layout {
        /// Output name.
        name: String,
        /// What is wrong.
        why: String,
    },
}

/// Builds the JSON header of a request with one UINT8 input of `shape` whose `data_len` bytes
/// follow it, asking for `outputs` in binary.
pub fn request_header(input: &str, shape: &[usize], data_len: usize, outputs: &[&str]) -> Vec<u8> {
    let outputs: Vec<Value> =
        outputs.iter().map(|name| json!({ "name": name, "parameters": { "binary_data": true } })).collect();
    let header = json!({
        "inputs": [{
            "name": input,
            "shape": shape,
            "datatype": "UINT8",
            "parameters": { "binary_data_size": data_len },
        }],
        "outputs": outputs,
    });
    header.to_string().into_bytes()
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    outputs: Vec<OutputHeader>,
}

#[derive(Deserialize)]
struct OutputHeader {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    #[serde(default)]
    parameters: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    data: Option<Value>,
}

/// Where an output's elements are.
#[derive(Debug, Clone, PartialEq)]
enum Data {
    /// A range of the response body.
    Binary(Range<usize>),
    /// A JSON `data` array (possibly nested).
    Json(Value),
}

/// One output of a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Name.
    pub name: String,
    /// KServe datatype (`FP32`, `BYTES`, …).
    pub datatype: String,
    /// Shape (every dimension non-negative).
    pub shape: Vec<usize>,
    data: Data,
}

impl Output {
    /// Number of elements its shape holds.
    pub fn elements(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))
    }
}

/// A decoded inference response: its outputs, which point into `body`.
#[derive(Debug, Clone, PartialEq)]
pub struct InferResponse {
    /// The model that answered, if the server said.
    pub model_name: Option<String>,
    /// The outputs in the server's order.
    pub outputs: Vec<Output>,
    body: Vec<u8>,
}

/// Reads a response body. `header_len`: the `Inference-Header-Content-Length` header's value, if
/// the server sent one (then binary sections follow the JSON header); without it the whole body is
/// JSON.
pub fn decode_response(body: Vec<u8>, header_len: Option<&str>) -> Result<InferResponse, TensorError> {
    let json_len = match header_len {
        Some(text) => {
            let n: usize = text.trim().parse().map_err(|_| TensorError::HeaderLength(text.to_string()))?;
            if n > body.len() {
                return Err(TensorError::HeaderLength(text.to_string()));
            }
            n
        }
        None => body.len(),
    };
    let header: Header =
        serde_json::from_slice(&body[..json_len]).map_err(|e| TensorError::Json(e.to_string()))?;
    let mut at = json_len;
    let mut outputs = Vec::with_capacity(header.outputs.len());
    for o in header.outputs {
        let shape =
            o.shape.iter().map(|d| usize::try_from(*d)).collect::<Result<Vec<usize>, _>>().map_err(|_| {
                TensorError::Layout {
                    name: o.name.clone(),
                    why: format!("negative dimension in {:?}", o.shape),
                }
            })?;
        let binary_size = o.parameters.as_ref().and_then(|p| p.get("binary_data_size"));
        let data = match (binary_size, o.data) {
            (Some(size), _) => {
                let size = size.as_u64().and_then(|s| usize::try_from(s).ok()).ok_or_else(|| {
                    TensorError::Layout {
                        name: o.name.clone(),
                        why: format!("binary_data_size {size} is not a size"),
                    }
                })?;
                let end =
                    at.checked_add(size).filter(|e| *e <= body.len()).ok_or(TensorError::BinarySize {
                        need: at.saturating_add(size).saturating_sub(json_len),
                        have: body.len() - json_len,
                    })?;
                let range = at..end;
                at = end;
                Data::Binary(range)
            }
            (None, Some(data)) => Data::Json(data),
            (None, None) => {
                return Err(TensorError::Layout {
                    name: o.name,
                    why: "neither data nor binary_data_size".into(),
                });
            }
        };
        outputs.push(Output { name: o.name, datatype: o.datatype, shape, data });
    }
    if at != body.len() {
        return Err(TensorError::BinarySize { need: at - json_len, have: body.len() - json_len });
    }
    Ok(InferResponse { model_name: header.model_name, outputs, body })
}

impl InferResponse {
    /// The output called `name`, if present.
    pub fn output(&self, name: &str) -> Option<&Output> {
        self.outputs.iter().find(|o| o.name == name)
    }

    fn required(&self, name: &str) -> Result<&Output, TensorError> {
        self.output(name).ok_or_else(|| TensorError::Missing(name.to_string()))
    }

    /// An FP32 output's elements (row-major) and its shape.
    pub fn fp32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), TensorError> {
        let o = self.required(name)?;
        if o.datatype != "FP32" {
            return Err(TensorError::Datatype {
                name: o.name.clone(),
                got: o.datatype.clone(),
                want: "FP32",
            });
        }
        let layout = |why: String| TensorError::Layout { name: o.name.clone(), why };
        let n = o.elements().ok_or_else(|| layout("shape overflows".into()))?;
        let values: Vec<f32> = match &o.data {
            Data::Binary(range) => {
                let bytes = &self.body[range.clone()];
                if Some(bytes.len()) != n.checked_mul(4) {
                    return Err(layout(format!("{} bytes for {n} FP32 elements", bytes.len())));
                }
                bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
            }
            Data::Json(value) => {
                let mut flat = Vec::new();
                flatten(value, &mut flat, 0).map_err(layout)?;
                let mut out = Vec::with_capacity(flat.len());
                for v in flat {
                    // JSON has no NaN or infinity; a number that does not fit f32 becomes ±inf,
                    // which the caller drops like any non-finite value.
                    out.push(v.as_f64().ok_or_else(|| layout(format!("{v} is not a number")))? as f32);
                }
                out
            }
        };
        if values.len() != n {
            return Err(layout(format!("{} elements for shape {:?}", values.len(), o.shape)));
        }
        Ok((values, o.shape.clone()))
    }

    /// A BYTES output's elements. Binary layout: each element is a 4-byte little-endian length
    /// followed by that many bytes. JSON layout: an array of strings.
    pub fn bytes(&self, name: &str) -> Result<Vec<Vec<u8>>, TensorError> {
        let o = self.required(name)?;
        if o.datatype != "BYTES" {
            return Err(TensorError::Datatype {
                name: o.name.clone(),
                got: o.datatype.clone(),
                want: "BYTES",
            });
        }
        let layout = |why: String| TensorError::Layout { name: o.name.clone(), why };
        let n = o.elements().ok_or_else(|| layout("shape overflows".into()))?;
        let mut out = Vec::new();
        match &o.data {
            Data::Binary(range) => {
                let mut rest = &self.body[range.clone()];
                while !rest.is_empty() {
                    if out.len() == n {
                        return Err(layout(format!("bytes left after {n} elements")));
                    }
                    let (len, tail) =
                        rest.split_first_chunk::<4>().ok_or_else(|| layout("truncated length".into()))?;
                    let len = u32::from_le_bytes(*len) as usize;
                    let element =
                        tail.get(..len).ok_or_else(|| layout(format!("element of {len} bytes truncated")))?;
                    out.push(element.to_vec());
                    rest = &tail[len..];
                }
            }
            Data::Json(value) => {
                let mut flat = Vec::new();
                flatten(value, &mut flat, 0).map_err(layout)?;
                for v in flat {
                    let s = v.as_str().ok_or_else(|| layout(format!("{v} is not a string")))?;
                    out.push(s.as_bytes().to_vec());
                }
            }
        }
        if out.len() != n {
            return Err(layout(format!("{} elements for shape {:?}", out.len(), o.shape)));
        }
        Ok(out)
    }
}

/// Row-major elements of a possibly nested JSON array (depth-capped).
fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>, depth: usize) -> Result<(), String> {
    match value {
        Value::Array(items) if depth < 8 => {
            for item in items {
                flatten(item, out, depth + 1)?;
            }
            Ok(())
        }
        Value::Array(_) => Err("data nested too deeply".into()),
        _ if depth == 0 => Err("data is not an array".into()),
        other => {
            out.push(other);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Triton answered the boxfinder model (captured from a PyTriton 0.7 server).
    fn triton_binary() -> (Vec<u8>, String) {
        let header = br#"{"model_name":"boxfinder","model_version":"1","outputs":[{"name":"boxes","datatype":"FP32","shape":[1,4],"parameters":{"binary_data_size":16}},{"name":"scores","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"labels","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(
            b"\x00\x00 B\x00\x00\xf0A\x00\x00 B\x00\x00\xf0A\x00\x00\x80?\x03\x00\x00\x00box",
        );
        (body, header.len().to_string())
    }

    #[test]
    fn reads_binary_outputs() {
        let (body, len) = triton_binary();
        let r = decode_response(body, Some(&len)).expect("decodes");
        assert_eq!(r.model_name.as_deref(), Some("boxfinder"));
        assert_eq!(r.fp32("boxes").expect("boxes"), (vec![40.0, 30.0, 40.0, 30.0], vec![1, 4]));
        assert_eq!(r.fp32("scores").expect("scores").0, vec![1.0]);
        assert_eq!(r.bytes("labels").expect("labels"), vec![b"box".to_vec()]);
        assert!(matches!(r.fp32("labels"), Err(TensorError::Datatype { .. })));
        assert!(matches!(r.fp32("nope"), Err(TensorError::Missing(_))));
    }

    #[test]
    fn reads_json_outputs() {
        let body = br#"{"model_name":"boxfinder","outputs":[{"name":"boxes","datatype":"FP32","shape":[1,4],"data":[40.0,30.0,40.0,30.0]},{"name":"scores","datatype":"FP32","shape":[1],"data":[1.0]},{"name":"labels","datatype":"BYTES","shape":[1],"data":["box"]}]}"#;
        let r = decode_response(body.to_vec(), None).expect("decodes");
        assert_eq!(r.fp32("boxes").expect("boxes").0, vec![40.0, 30.0, 40.0, 30.0]);
        assert_eq!(r.bytes("labels").expect("labels"), vec![b"box".to_vec()]);
        let nested =
            br#"{"outputs":[{"name":"boxes","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]}]}"#;
        let r = decode_response(nested.to_vec(), None).expect("decodes");
        assert_eq!(r.fp32("boxes").expect("boxes").0, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn request_header_is_kserve_json() {
        let h = request_header("image", &[2, 3, 3], 18, &["boxes", "scores"]);
        let v: Value = serde_json::from_slice(&h).expect("json");
        assert_eq!(v["inputs"][0]["shape"], json!([2, 3, 3]));
        assert_eq!(v["inputs"][0]["datatype"], "UINT8");
        assert_eq!(v["inputs"][0]["parameters"]["binary_data_size"], 18);
        assert_eq!(v["outputs"][1]["name"], "scores");
        assert_eq!(v["outputs"][1]["parameters"]["binary_data"], true);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let (body, len) = triton_binary();
        let header_len: usize = len.parse().expect("number");
        for cut in 0..body.len() {
            let short = body[..cut].to_vec();
            // The announced header length no longer fits, or the binary sections come up short.
            assert!(decode_response(short.clone(), Some(&len)).is_err(), "cut {cut}");
            if cut < header_len {
                // Pretending the cut is the header: invalid JSON.
                assert!(decode_response(short, Some(&cut.to_string())).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn bad_layouts() {
        let with = |header: &str, bin: &[u8]| {
            let mut body = header.as_bytes().to_vec();
            body.extend_from_slice(bin);
            decode_response(body, Some(&header.len().to_string()))
        };
        // Extra bytes after the sections.
        let r = with(
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#,
            &[0; 5],
        );
        assert!(matches!(r, Err(TensorError::BinarySize { .. })));
        // Size not matching the shape.
        let r = with(
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":4}}]}"#,
            &[0; 4],
        )
        .expect("decodes");
        assert!(matches!(r.fp32("s"), Err(TensorError::Layout { .. })));
        // Huge shape.
        let r = with(
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[9223372036854775807,9223372036854775807],"parameters":{"binary_data_size":0}}]}"#,
            &[],
        )
        .expect("decodes");
        assert!(r.fp32("s").is_err());
        // Negative dimension, bad size, no data.
        for h in [
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[-1],"data":[]}]}"#,
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]}"#,
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":99}}]}"#,
            r#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1]}]}"#,
            r#"{"outputs":[{"name":"s"}]}"#,
            r#"7"#,
        ] {
            assert!(with(h, &[]).is_err(), "{h}");
        }
        // BYTES: a length running past the end, bytes left over, too few elements.
        for (bin, shape) in [
            (&b"\x05\x00\x00\x00abc"[..], 1),
            (b"\x01\x00\x00\x00ab", 1),
            (b"\x01\x00\x00\x00a", 2),
            (b"\x01\x00", 1),
        ] {
            let h = format!(
                r#"{{"outputs":[{{"name":"l","datatype":"BYTES","shape":[{shape}],"parameters":{{"binary_data_size":{}}}}}]}}"#,
                bin.len()
            );
            let r = with(&h, bin).expect("decodes");
            assert!(matches!(r.bytes("l"), Err(TensorError::Layout { .. })), "{bin:?}");
        }
        // JSON data of the wrong kind.
        let r = decode_response(
            br#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1],"data":["x"]}]}"#.to_vec(),
            None,
        )
        .expect("decodes");
        assert!(r.fp32("s").is_err());
        let r = decode_response(
            br#"{"outputs":[{"name":"s","datatype":"FP32","shape":[1],"data":1}]}"#.to_vec(),
            None,
        )
        .expect("decodes");
        assert!(r.fp32("s").is_err());
        assert!(matches!(decode_response(b"{}".to_vec(), Some("x")), Err(TensorError::HeaderLength(_))));
    }
}
