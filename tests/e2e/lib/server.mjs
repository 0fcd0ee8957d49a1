// A small static file server for the browser tests and benchmarks: maps URL prefixes to folders,
// binds loopback on an ephemeral port, serves wasm with its MIME type and never leaves its roots.
// An extensionless path that is not a file is tried with `.js`, as bundlers resolve ES module
// imports (npm packages such as tinyh264 ship `import x from './Y'`).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
};

/** mounts: { "/": "/abs/www", "/t/": "/abs/pages", ... } — longest prefix wins. */
export function serve(mounts) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    if (!prefix) return void res.writeHead(404).end();
    const root = path.resolve(mounts[prefix]);
    let rel = decodeURIComponent(url.pathname.slice(prefix.length));
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) return void res.writeHead(403).end();
    const found = path.extname(file) === "" && !fs.existsSync(file) ? `${file}.js` : file;
    fs.readFile(found, (err, data) => {
      if (err) return void res.writeHead(404).end();
      res.writeHead(200, {
        "content-type": TYPES[path.extname(found)] ?? "application/octet-stream",
        "cache-control": "no-store",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      });
      res.end(data);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
