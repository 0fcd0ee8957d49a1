// Starts the real `nalcast-server` binary on 127.0.0.1:0 and returns its URL; stops it on close.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function startServer({ bin = process.env.NALCAST_SERVER ?? path.join(repo, "target/release/nalcast-server"), args = [] } = {}) {
  const child = spawn(bin, ["--listen", "127.0.0.1:0", "--www", path.join(repo, "www"), ...args], {
    cwd: repo,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("nalcast-server did not start within 60 s")), 60000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`nalcast-server exited with ${code}`)));
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1].replace(/\/$/, ""),
          pid: child.pid,
          close: () => new Promise((r) => {
            child.removeAllListeners("exit");
            child.on("exit", r);
            child.kill("SIGINT");
          }),
        });
      }
    });
  });
}
