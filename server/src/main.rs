//! `nalcast-server`: parses the command line, then runs the library's server until Ctrl-C.

use anyhow::Context;
use nalcast_server::Config;

const USAGE: &str = "usage: nalcast-server [--config FILE.toml] [--listen ADDR:PORT] [--www DIR]
                      [--source ID=SOURCE]...
SOURCE: pattern | pattern:WIDTHxHEIGHT@FPS | FILE.h264
Without --config or --source: the live test pattern (\"pattern\") and the bundled clip (\"sample\").";

fn parse_args() -> anyhow::Result<Option<Config>> {
    let mut args = std::env::args().skip(1);
    let mut config = Config::default();
    let mut listen = None;
    let mut www = None;
    let mut sources = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Config::from_file(args.next().context(USAGE)?.as_ref())?,
            "--listen" => listen = Some(args.next().context(USAGE)?),
            "--www" => www = Some(args.next().context(USAGE)?),
            "--source" => sources.push(args.next().context(USAGE)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if let Some(l) = listen {
        config.listen = l;
    }
    if let Some(w) = www {
        config.www = w.into();
    }
    for s in sources {
        config.add_cli_stream(&s)?;
    }
    Ok(Some(config))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr) // stdout carries only the URL line
        .init();
    let Some(config) = parse_args()? else { return Ok(()) };
    // Every viewer is a socket: allow as many as the hard limit permits.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
    }
    if !config.www.join("pkg/nalcast.js").is_file() {
        tracing::warn!(
            "{} has no pkg/nalcast.js: build the wasm client with `make wasm`",
            config.www.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    for s in config.effective_streams() {
        tracing::info!(stream = %s.id, source = ?s.source, "stream");
    }
    println!("nalcast is serving http://{addr}/");
    nalcast_server::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
