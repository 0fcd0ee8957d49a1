//! Does OpenH264's multi-threaded decoding pay? Decodes Annex-B clips natively with
//! `DECODER_OPTION_NUM_OF_THREADS` = 0, 1, 2, 3, 4 (interleaved, several repetitions) through
//! `DecodeFrameNoDelay` one access unit per call — the only path on which OpenH264 uses its threads —
//! and prints wall-clock fps, process CPU ms per frame, the mean output lag in access units and a
//! SHA-1 over the tight I420 output, plus the same for nalcast's own `Decoder::decode_access_unit`.
//!
//! `cargo run --release -p nalcast-codec --example thread_bench -- [--reps N] [--threads 0,2] CLIP...`
//!
//! Host only: on wasm32 this example is empty.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use nalcast_proto::au::access_units;
    use openh264_sys2::source::APILoader as Api;
    use openh264_sys2::{
        DECODER_OPTION_END_OF_STREAM, DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER,
        DECODER_OPTION_NUM_OF_THREADS, ERROR_CON_SLICE_COPY, ISVCDecoder, SBufferInfo, SDecodingParam,
        VIDEO_BITSTREAM_DEFAULT,
    };
    use sha1::{Digest, Sha1};
    use std::ffi::c_int;
    use std::ptr::{self, NonNull};
    use std::time::Instant;

    /// Process CPU time (user + system, all threads, including exited ones) in milliseconds.
    fn cpu_ms() -> f64 {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return f64::NAN };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        ticks * 10.0 // USER_HZ is 100 on Linux
    }

    /// Hashes pictures and notes how late they come out.
    struct Sink {
        /// Where every picture's I420 bytes are also appended (`NALCAST_BENCH_DUMP`), if anywhere.
        dump: Option<std::fs::File>,
        hasher: Sha1,
        frames: usize,
        lag_sum: u64,
        buf: Vec<u8>,
    }

    impl Sink {
        fn new() -> Sink {
            Sink { dump: None, hasher: Sha1::new(), frames: 0, lag_sum: 0, buf: Vec::new() }
        }

        fn dumping(label: &str) -> Sink {
            let dump = std::env::var_os("NALCAST_BENCH_DUMP").and_then(|dir| {
                std::fs::File::create(std::path::Path::new(&dir).join(format!("{label}.yuv"))).ok()
            });
            Sink { dump, ..Sink::new() }
        }

        fn picture(&mut self, frame: nalcast_codec::Frame<'_>, fed: u64) {
            self.buf.clear();
            frame.write_i420(&mut self.buf);
            self.hasher.update(&self.buf);
            if let Some(f) = self.dump.as_mut() {
                use std::io::Write;
                let _ = f.write_all(&self.buf);
            }
            self.frames += 1;
            self.lag_sum += fed.saturating_sub(frame.timestamp);
        }

        /// A raw OpenH264 output: `dst` and `info` from DecodeFrameNoDelay/FlushFrame.
        fn raw(&mut self, dst: &[*mut u8; 3], info: &SBufferInfo, fed: u64) {
            if info.iBufferStatus != 1 || dst.iter().any(|p| p.is_null()) {
                return;
            }
            // SAFETY: with iBufferStatus == 1 OpenH264 fills the system-buffer variant.
            let sys = unsafe { info.UsrData.sSystemBuffer };
            let (w, h) = (sys.iWidth.max(0) as usize, sys.iHeight.max(0) as usize);
            let (ys, uvs) = (sys.iStride[0].max(0) as usize, sys.iStride[1].max(0) as usize);
            if w == 0 || h < 2 || ys < w || uvs < w / 2 {
                return;
            }
            let y_len = ys * (h - 1) + w;
            let c_len = uvs * (h / 2 - 1) + w / 2;
            // SAFETY: OpenH264 returns plane pointers into buffers of at least stride * rows bytes that
            // stay valid until the next call into the decoder; they are only read here.
            let (y, u, v) = unsafe {
                (
                    std::slice::from_raw_parts(dst[0], y_len),
                    std::slice::from_raw_parts(dst[1], c_len),
                    std::slice::from_raw_parts(dst[2], c_len),
                )
            };
            let frame = nalcast_codec::Frame {
                width: w,
                height: h,
                y,
                u,
                v,
                y_stride: ys,
                uv_stride: uvs,
                color: Default::default(),
                timestamp: info.uiOutYuvTimeStamp,
            };
            self.picture(frame, fed);
        }
    }

    struct Run {
        wall_s: f64,
        cpu_ms: f64,
        frames: usize,
        lag: f64,
        sha1: String,
        threads_set: i32,
    }

    /// Decodes `aus` with an OpenH264 instance set to `threads` threads, one `DecodeFrameNoDelay` per
    /// access unit, then ends the stream and flushes.
    fn run_raw(data: &[u8], aus: &[std::ops::Range<usize>], threads: i32) -> Result<Run, String> {
        let mut raw: *mut ISVCDecoder = ptr::null_mut();
        let cpu0 = cpu_ms();
        let t0 = Instant::now();
        // SAFETY: WelsCreateDecoder writes a decoder pointer or fails.
        let rc = unsafe { Api::WelsCreateDecoder(&mut raw) };
        let dec = NonNull::new(raw).filter(|_| rc == 0).ok_or("WelsCreateDecoder failed")?;
        // SAFETY: a live decoder's first word is its vtable pointer.
        let vt = unsafe { &**dec.as_ptr() };
        let (set, get, init, nodelay, flush) =
            match (vt.SetOption, vt.GetOption, vt.Initialize, vt.DecodeFrameNoDelay, vt.FlushFrame) {
                (Some(a), Some(b), Some(c), Some(d), Some(e)) => (a, b, c, d, e),
                _ => return Err("vtable incomplete".into()),
            };
        let mut n: c_int = threads;
        // SAFETY: NUM_OF_THREADS takes an int, set before Initialize as OpenH264's console decoder does.
        unsafe { set(dec.as_ptr(), DECODER_OPTION_NUM_OF_THREADS as _, (&mut n as *mut c_int).cast()) };
        let mut got: c_int = -1;
        // SAFETY: NUM_OF_THREADS writes an int.
        unsafe { get(dec.as_ptr(), DECODER_OPTION_NUM_OF_THREADS as _, (&mut got as *mut c_int).cast()) };
        // SAFETY: SDecodingParam is plain old data; zero is its default.
        let mut param: SDecodingParam = unsafe { std::mem::zeroed() };
        param.uiTargetDqLayer = u8::MAX;
        param.eEcActiveIdc = ERROR_CON_SLICE_COPY;
        param.sVideoProperty.size = std::mem::size_of_val(&param.sVideoProperty) as _;
        param.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_DEFAULT;
        // SAFETY: `param` is initialised and outlives the call.
        if unsafe { init(dec.as_ptr(), &param) } != 0 {
            return Err("Initialize failed".into());
        }
        let mut sink = Sink::dumping(&format!("threads{threads}"));
        let mut fed = 0u64;
        for (i, au) in aus.iter().enumerate() {
            let bytes = &data[au.clone()];
            fed = i as u64;
            let mut dst: [*mut u8; 3] = [ptr::null_mut(); 3];
            // SAFETY: plain old data.
            let mut info: SBufferInfo = unsafe { std::mem::zeroed() };
            info.uiInBsTimeStamp = fed;
            // SAFETY: `bytes` is valid for its length; `dst`/`info` are writable.
            unsafe {
                nodelay(dec.as_ptr(), bytes.as_ptr(), bytes.len() as c_int, dst.as_mut_ptr(), &mut info)
            };
            sink.raw(&dst, &info, fed);
        }
        let mut eos: c_int = 1;
        // SAFETY: END_OF_STREAM takes an int.
        unsafe { set(dec.as_ptr(), DECODER_OPTION_END_OF_STREAM as _, (&mut eos as *mut c_int).cast()) };
        let mut remaining: c_int = 0;
        // SAFETY: this option writes an int.
        unsafe {
            get(
                dec.as_ptr(),
                DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER as _,
                (&mut remaining as *mut c_int).cast(),
            )
        };
        for _ in 0..remaining.max(0) {
            let mut dst: [*mut u8; 3] = [ptr::null_mut(); 3];
            // SAFETY: plain old data.
            let mut info: SBufferInfo = unsafe { std::mem::zeroed() };
            // SAFETY: `dst` and `info` are writable.
            unsafe { flush(dec.as_ptr(), dst.as_mut_ptr(), &mut info) };
            sink.raw(&dst, &info, fed + 1);
        }
        // SAFETY: live decoder, destroyed once (joins its threads).
        unsafe {
            if let Some(u) = vt.Uninitialize {
                u(dec.as_ptr());
            }
            Api::WelsDestroyDecoder(dec.as_ptr());
        }
        let wall_s = t0.elapsed().as_secs_f64();
        Ok(Run {
            wall_s,
            cpu_ms: cpu_ms() - cpu0,
            frames: sink.frames,
            lag: sink.lag_sum as f64 / sink.frames.max(1) as f64,
            sha1: hex(sink.hasher.finalize().as_slice()),
            threads_set: got,
        })
    }

    /// nalcast's own decoder (single-threaded), one access unit per `decode_access_unit`.
    fn run_nalcast(data: &[u8], aus: &[std::ops::Range<usize>]) -> Result<Run, String> {
        let cpu0 = cpu_ms();
        let t0 = Instant::now();
        let mut dec = nalcast_codec::Decoder::with_log(Box::new(|_, _| {})).map_err(|e| e.to_string())?;
        let mut sink = Sink::dumping("nalcast");
        let mut fed = 0;
        for (i, au) in aus.iter().enumerate() {
            fed = i as u64;
            let _ = dec.decode_access_unit(&data[au.clone()], fed, |f| sink.picture(f, fed));
        }
        let _ = dec.flush(|f| sink.picture(f, fed + 1));
        drop(dec);
        Ok(Run {
            wall_s: t0.elapsed().as_secs_f64(),
            cpu_ms: cpu_ms() - cpu0,
            frames: sink.frames,
            lag: sink.lag_sum as f64 / sink.frames.max(1) as f64,
            sha1: hex(sink.hasher.finalize().as_slice()),
            threads_set: 0,
        })
    }

    /// The runs' hashes, each with how many runs gave it.
    fn distinct(runs: &[Run]) -> String {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for r in runs {
            match seen.iter_mut().find(|(h, _)| *h == r.sha1) {
                Some((_, n)) => *n += 1,
                None => seen.push((&r.sha1, 1)),
            }
        }
        seen.iter().map(|(h, n)| format!("{n}x {}", &h[..12])).collect::<Vec<_>>().join(", ")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    pub(crate) fn main() -> Result<(), String> {
        let mut reps = 3;
        let mut threads: Vec<i32> = vec![0, 1, 2, 3, 4];
        let mut clips = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--reps" => reps = args.next().and_then(|v| v.parse().ok()).ok_or("--reps N")?,
                "--threads" => {
                    threads = args
                        .next()
                        .ok_or("--threads LIST")?
                        .split(',')
                        .map(|t| t.parse().map_err(|_| format!("bad thread count {t}")))
                        .collect::<Result<_, _>>()?
                }
                _ => clips.push(a),
            }
        }
        // Mode -1 is nalcast's own Decoder.
        let modes: Vec<i32> = std::iter::once(-1).chain(threads.iter().copied()).collect();
        println!(
            "clip | mode | threads used | frames | fps (median) | fps (best) | CPU ms/frame (median) | cores busy (CPU/wall, median) | wall runs s | lag AUs | sha1"
        );
        for clip in clips {
            let data = std::fs::read(&clip).map_err(|e| format!("{clip}: {e}"))?;
            let aus = access_units(&data);
            let mut results: Vec<Vec<Run>> = modes.iter().map(|_| Vec::new()).collect();
            for _ in 0..reps {
                for (m, &mode) in modes.iter().enumerate() {
                    let r = if mode < 0 { run_nalcast(&data, &aus)? } else { run_raw(&data, &aus, mode)? };
                    results[m].push(r);
                }
            }
            let name = std::path::Path::new(&clip).file_name().and_then(|n| n.to_str()).unwrap_or("?");
            for (m, &mode) in modes.iter().enumerate() {
                let runs = &results[m];
                let fps = median(runs.iter().map(|r| r.frames as f64 / r.wall_s).collect());
                let cpu = median(runs.iter().map(|r| r.cpu_ms / r.frames.max(1) as f64).collect());
                let best = runs.iter().map(|r| r.frames as f64 / r.wall_s).fold(0.0, f64::max);
                let cores = median(runs.iter().map(|r| r.cpu_ms / 1000.0 / r.wall_s).collect());
                let walls: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.wall_s)).collect();
                let same = runs.iter().all(|r| r.sha1 == runs[0].sha1);
                let label =
                    if mode < 0 { "nalcast Decoder".to_string() } else { format!("NoDelay threads={mode}") };
                println!(
                    "{name} | {label} | {} | {} | {fps:.1} | {best:.1} | {cpu:.2} | {cores:.2} | {} | {:.2} | {}{}",
                    runs[0].threads_set,
                    runs[0].frames,
                    walls.join(" "),
                    runs[0].lag,
                    &runs[0].sha1,
                    if same { String::new() } else { format!(" (differs between runs: {})", distinct(runs)) }
                );
            }
        }
        Ok(())
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), String> {
    bench::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
