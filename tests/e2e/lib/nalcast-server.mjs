// Starts the real `nalcast-server` binary on loopback (any free port unless `listen` names one) and
// returns its URL; `close` stops it with SIGINT (graceful), `kill` with SIGKILL (a crash). `prefix`
// runs it through a command that execs it (e.g. `ip netns exec NS`).
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server that must come back on it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function startServer({
  bin = process.env.NALCAST_SERVER ?? path.join(repo, "target/release/nalcast-server"),
  args = [],
  listen = "127.0.0.1:0",
  prefix = [],
} = {}) {
  const argv = [...prefix, bin, "--listen", listen, "--www", path.join(repo, "www"), ...args];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: repo,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = (signal) => new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.removeAllListeners("exit");
    child.on("exit", r);
    child.kill(signal);
  });
  // Never leave the server behind, whatever way this process ends.
  const onExit = () => child.kill("SIGKILL");
  process.on("exit", onExit);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("nalcast-server did not start within 60 s"));
    }, 60000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`nalcast-server exited with ${code}`)));
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        out = "";
        resolve({
          url: m[1].replace(/\/$/, ""),
          pid: child.pid,
          close: () => stop("SIGINT").then(() => process.off("exit", onExit)),
          kill: () => stop("SIGKILL").then(() => process.off("exit", onExit)),
        });
      }
    });
  });
}
