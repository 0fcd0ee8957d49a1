//! The HTTP API: `GET /api/streams` (JSON) and `GET /metrics` (Prometheus text format).

use crate::App;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// One entry of `/api/streams`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct StreamEntry {
    /// Id, source kind, codec, size and nominal frame rate.
    #[serde(flatten)]
    pub info: crate::hub::StreamInfo,
    /// Average bitrate since the stream started, bits per second.
    pub bitrate: u64,
    /// Viewers connected now.
    pub viewers: u64,
    /// Frames published.
    pub frames: u64,
    /// Frames dropped for slow viewers.
    pub dropped: u64,
}

/// `GET /api/streams`: every stream, or with viewer tokens on, those the presented token grants
/// (all of them for the admin token).
pub async fn streams(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let token = crate::access::gate::presented_token(&headers, uri.query());
    if app.access.tokens_required() && token.is_none() {
        return crate::access::gate::refuse(&crate::access::token::TokenError::Missing.into());
    }
    let now = crate::access::gate::unix_now();
    let list: Vec<StreamEntry> = app
        .streams
        .list()
        .into_iter()
        .filter(|(id, _)| app.access.viewer(id, token.as_deref(), now).is_ok())
        .map(|(_, hub)| {
            let c = &hub.counters;
            StreamEntry {
                info: hub.info(),
                bitrate: hub.average_bitrate(),
                viewers: c.viewers.load(Ordering::Relaxed),
                frames: c.frames.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
            }
        })
        .collect();
    axum::Json(list).into_response()
}

/// A metric: name, type, help text, and how to read it from a stream's counters.
type Series = (&'static str, &'static str, &'static str, fn(&crate::hub::StreamCounters) -> u64);

/// `GET /metrics`.
pub async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let mut out = String::new();
    let streams = app.streams.list();
    let series: [Series; 7] = [
        ("nalcast_frames_total", "counter", "Access units published by the stream's source.", |c| {
            c.frames.load(Ordering::Relaxed)
        }),
        ("nalcast_bytes_total", "counter", "Bytes of access units published.", |c| {
            c.bytes.load(Ordering::Relaxed)
        }),
        ("nalcast_viewers", "gauge", "Viewers connected now.", |c| c.viewers.load(Ordering::Relaxed)),
        ("nalcast_viewers_total", "counter", "Viewers that ever connected.", |c| {
            c.viewers_total.load(Ordering::Relaxed)
        }),
        (
            "nalcast_dropped_frames_total",
            "counter",
            "Frames dropped for slow viewers (summed over viewers).",
            |c| c.dropped.load(Ordering::Relaxed),
        ),
        ("nalcast_keyframe_requests_total", "counter", "Keyframe requests from viewers.", |c| {
            c.keyframe_requests.load(Ordering::Relaxed)
        }),
        (
            "nalcast_paused_frames_total",
            "counter",
            "Frames not sent to paused viewers (hidden tiles), summed over viewers.",
            |c| c.held.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (id, hub) in &streams {
            let _ = writeln!(out, "{name}{{stream=\"{}\"}} {}", escape(id), get(&hub.counters));
        }
    }
    let (rtc_bytes, rtc_datagrams, rtc_video) = app.webrtc.as_ref().map(|w| w.sent()).unwrap_or((0, 0, 0));
    let _ = writeln!(
        out,
        "# HELP nalcast_transport_bytes_total Bytes written to viewers with the transport's framing (no IP/TCP/UDP headers).\n# TYPE nalcast_transport_bytes_total counter"
    );
    for (name, v) in [
        ("websocket", app.wire.websocket.load(Ordering::Relaxed)),
        ("http", app.wire.http.load(Ordering::Relaxed)),
        ("webrtc", rtc_bytes),
    ] {
        let _ = writeln!(out, "nalcast_transport_bytes_total{{transport=\"{name}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP nalcast_transport_video_bytes_total Access-unit bytes inside the frames each transport sent.\n# TYPE nalcast_transport_video_bytes_total counter"
    );
    for (name, v) in [
        ("websocket", app.wire.video[crate::transport_index::WEBSOCKET].load(Ordering::Relaxed)),
        ("http", app.wire.video[crate::transport_index::HTTP].load(Ordering::Relaxed)),
        ("webrtc", rtc_video),
    ] {
        let _ = writeln!(out, "nalcast_transport_video_bytes_total{{transport=\"{name}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP nalcast_webrtc_datagrams_total UDP datagrams sent to WebRTC peers.\n# TYPE nalcast_webrtc_datagrams_total counter\nnalcast_webrtc_datagrams_total {rtc_datagrams}"
    );
    let c = &app.conns;
    for (name, kind, help, v) in [
        (
            "nalcast_rejected_connections_total",
            "counter",
            "Viewers turned away at the connection cap.",
            app.rejected.load(Ordering::Relaxed),
        ),
        (
            "nalcast_denied_requests_total",
            "counter",
            "Viewer requests refused for a missing or invalid token or origin.",
            app.denied.load(Ordering::Relaxed),
        ),
        ("nalcast_connections", "gauge", "TCP connections open now.", c.open.load(Ordering::Relaxed)),
        (
            "nalcast_connections_total",
            "counter",
            "TCP connections accepted.",
            c.accepted.load(Ordering::Relaxed),
        ),
        (
            "nalcast_connections_refused_per_ip_total",
            "counter",
            "Connections closed at once: too many from one address.",
            c.refused_per_ip.load(Ordering::Relaxed),
        ),
        (
            "nalcast_tls_handshake_failures_total",
            "counter",
            "TLS handshakes that failed or timed out.",
            c.tls_failed.load(Ordering::Relaxed),
        ),
        (
            "nalcast_write_timeouts_total",
            "counter",
            "Connections dropped because the peer stopped reading.",
            c.write_timeouts.load(Ordering::Relaxed),
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
    app.bus.write_metrics(&mut out);
    write_inference(&mut out, &app.streams.workers());
    write_paint_reports(&mut out, &streams);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// What viewers reported about drawing results, per stream.
fn write_paint_reports(out: &mut String, streams: &[(String, Arc<crate::hub::Hub>)]) {
    for (name, help, get) in [
        (
            "nalcast_overlays_painted_total",
            "Frames viewers painted with their results drawn (reported by viewers).",
            (|r| r.overlays.load(Ordering::Relaxed)) as fn(&crate::infer::reports::PaintReports) -> u64,
        ),
        (
            "nalcast_results_late_total",
            "Results that reached a viewer after their frame was painted (reported by viewers).",
            |r| r.late.load(Ordering::Relaxed),
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (id, hub) in streams {
            let _ = writeln!(out, "{name}{{stream=\"{}\"}} {}", escape(id), get(&hub.paint_reports));
        }
    }
    let _ = writeln!(
        out,
        "# HELP nalcast_result_age_at_paint_ms Age of results when painted (server clock), over viewers' recent medians.\n# TYPE nalcast_result_age_at_paint_ms summary"
    );
    for (id, hub) in streams {
        for q in [0.5, 0.95] {
            if let Some(ms) = hub.paint_reports.age_ms(q) {
                let _ = writeln!(
                    out,
                    "nalcast_result_age_at_paint_ms{{stream=\"{}\",quantile=\"{q}\"}} {ms:.3}",
                    escape(id)
                );
            }
        }
    }
}

/// The inference workers' series, labelled by stream and model.
fn write_inference(out: &mut String, workers: &[crate::infer::worker::WorkerHandle]) {
    use crate::infer::worker::WorkerStats;
    type Count = fn(&WorkerStats) -> u64;
    let counters: [(&str, &str, Count); 5] = [
        ("nalcast_inference_frames_total", "Pictures analysed (results published).", |s| {
            s.analysed.load(Ordering::Relaxed)
        }),
        ("nalcast_inference_decoded_total", "Pictures the worker decoded.", |s| {
            s.decoded.load(Ordering::Relaxed)
        }),
        (
            "nalcast_inference_dropped_samples_total",
            "Decoded pictures replaced by a newer one before the model took them (latest frame wins).",
            |s| s.dropped_samples.load(Ordering::Relaxed),
        ),
        ("nalcast_inference_lagged_frames_total", "Frames the worker's decoder skipped to catch up.", |s| {
            s.lagged_frames.load(Ordering::Relaxed)
        }),
        ("nalcast_inference_errors_total", "Model calls that failed.", |s| s.errors.load(Ordering::Relaxed)),
    ];
    let label = |w: &crate::infer::worker::WorkerHandle| {
        format!("stream=\"{}\",model=\"{}\"", escape(&w.stream), escape(&w.model))
    };
    for (name, help, get) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for w in workers {
            let _ = writeln!(out, "{name}{{{}}} {}", label(w), get(&w.stats));
        }
    }
    let _ = writeln!(
        out,
        "# HELP nalcast_inference_frames_per_second Pictures analysed per second over the last 5 s.\n# TYPE nalcast_inference_frames_per_second gauge"
    );
    for w in workers {
        let _ = writeln!(out, "nalcast_inference_frames_per_second{{{}}} {:.2}", label(w), w.stats.rate());
    }
    let _ = writeln!(
        out,
        "# HELP nalcast_inference_latency_ms Model time per picture over the last 256 pictures.\n# TYPE nalcast_inference_latency_ms summary"
    );
    for w in workers {
        for q in [0.5, 0.95, 0.99] {
            if let Some(ms) = w.stats.latency_ms(q) {
                let _ =
                    writeln!(out, "nalcast_inference_latency_ms{{{},quantile=\"{q}\"}} {ms:.3}", label(w));
            }
        }
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
