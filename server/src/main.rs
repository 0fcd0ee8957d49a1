//! `nalcast-server`: parses the command line, then runs the library's server until Ctrl-C.

use anyhow::Context;
use nalcast_server::Config;

const USAGE: &str = "usage: nalcast-server [--config FILE.toml] [--listen ADDR:PORT] [--www DIR]
                      [--source ID=SOURCE]... [--nats URL] [--role all|ingest|deliver|worker]
       nalcast-server token --config FILE.toml --stream ID|'*' [--ttl SECONDS]
SOURCE: pattern | pattern:WIDTHxHEIGHT@FPS | FILE.h264
Without --config or --source: the live test pattern (\"pattern\") and the bundled clip (\"sample\").
--nats connects to a NATS broker: `ingest` nodes publish their streams, `deliver` nodes serve
viewers from it, `worker` nodes run inference on it; `all` (the default) does everything here.
`token` prints a viewer token signed with the configuration's [access] viewer secret.";

/// `nalcast-server token …`: mints a viewer token offline.
fn token_command(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let (mut config, mut stream, mut ttl) = (None, None, 3600u64);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(Config::from_file(args.next().context(USAGE)?.as_ref())?),
            "--stream" => stream = Some(args.next().context(USAGE)?),
            "--ttl" => ttl = args.next().context(USAGE)?.parse().context("--ttl: seconds")?,
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let config = config.context("token needs --config with an [access] viewer secret")?;
    let stream = stream.context("token needs --stream ID (or '*')")?;
    let access = nalcast_server::access::Access::from_config(&config.access)?;
    let secret = access.viewer_secret().context("the configuration has no [access] viewer secret")?;
    let expires = nalcast_server::access::gate::unix_now() + ttl;
    println!("{}", nalcast_server::access::token::mint(secret, &stream, expires));
    Ok(())
}

fn parse_args() -> anyhow::Result<Option<Config>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("token") {
        args.next();
        token_command(args)?;
        return Ok(None);
    }
    let mut config = Config::default();
    let mut listen = None;
    let mut www = None;
    let mut sources = Vec::new();
    let (mut nats, mut role) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Config::read_file(args.next().context(USAGE)?.as_ref())?,
            "--listen" => listen = Some(args.next().context(USAGE)?),
            "--www" => www = Some(args.next().context(USAGE)?),
            "--source" => sources.push(args.next().context(USAGE)?),
            "--nats" => nats = Some(args.next().context(USAGE)?),
            "--role" => {
                let r = args.next().context(USAGE)?;
                role = Some(
                    nalcast_server::bus::Role::parse(&r).with_context(|| format!("--role {r:?}\n{USAGE}"))?,
                );
            }
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
    if nats.is_some() {
        config.bus.nats = nats;
    }
    if let Some(r) = role {
        config.bus.role = r;
    }
    for s in sources {
        config.add_cli_stream(&s)?;
    }
    config.validate()?;
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
    for s in config.effective_streams().into_iter().filter(|_| config.bus.role.runs_sources()) {
        tracing::info!(stream = %s.id, source = ?s.source, "stream");
    }
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    if config.access.viewer_secret.is_some() || config.access.viewer_secret_file.is_some() {
        tracing::info!("viewer tokens required: mint one with `nalcast-server token --config … --stream ID`");
    }
    println!("nalcast is serving {scheme}://{addr}/");
    nalcast_server::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
