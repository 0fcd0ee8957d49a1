//! `nalcast-server`: parses the command line, builds the embedded sample, serves until Ctrl-C.

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

const USAGE: &str = "usage: nalcast-server [--listen ADDR:PORT] [--www DIR]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut listen = "127.0.0.1:8080".to_string();
    let mut www = PathBuf::from("www");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().context(USAGE)?,
            "--www" => www = args.next().context(USAGE)?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if !www.join("pkg/nalcast.js").is_file() {
        tracing::warn!("{} has no pkg/nalcast.js: build the wasm client with `make wasm`", www.display());
    }
    let sample =
        nalcast_server::sample::encode(640, 360, 30, 300, 1_000_000).context("encoding the sample clip")?;
    tracing::info!(bytes = sample.len(), "encoded the embedded sample clip");
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    println!("nalcast is serving http://{addr}/");
    let config = nalcast_server::Config { www, sample: Arc::new(sample) };
    nalcast_server::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
