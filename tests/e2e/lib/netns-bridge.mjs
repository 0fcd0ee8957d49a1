// Runs inside a network namespace (`ip netns exec NS node netns-bridge.mjs SOCKET TCP_PORT UDP_PORT`)
// and carries traffic between a Unix socket, which is reachable from every namespace, and the
// namespace's own loopback: each connection to SOCKET.tcp becomes a TCP connection to
// 127.0.0.1:TCP_PORT; SOCKET.udp carries datagrams framed as `key u32, len u16, bytes`, each key
// with its own UDP socket toward 127.0.0.1:UDP_PORT. It adds no impairment (lib/impair.mjs does).
// Exits when its parent closes stdin.
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";

const [sock, tcpPort, udpPort] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
for (const p of [`${sock}.tcp`, `${sock}.udp`]) fs.rmSync(p, { force: true });

net.createServer((c) => {
  const s = net.connect(tcpPort, "127.0.0.1");
  s.setNoDelay(true);
  c.pipe(s).on("error", () => c.destroy());
  s.pipe(c).on("error", () => s.destroy());
  c.on("error", () => s.destroy());
  s.on("error", () => c.destroy());
}).listen(`${sock}.tcp`);

net.createServer((c) => {
  const sockets = new Map();
  let buf = Buffer.alloc(0);
  c.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 6 && buf.length >= 6 + buf.readUInt16BE(4)) {
      const key = buf.readUInt32BE(0);
      const msg = buf.subarray(6, 6 + buf.readUInt16BE(4));
      buf = buf.subarray(6 + msg.length);
      let u = sockets.get(key);
      if (!u) {
        u = dgram.createSocket("udp4");
        u.on("message", (m) => {
          const h = Buffer.alloc(6);
          h.writeUInt32BE(key, 0);
          h.writeUInt16BE(m.length, 4);
          c.write(Buffer.concat([h, m]));
        });
        u.on("error", () => {});
        u.bind(0, "127.0.0.1");
        sockets.set(key, u);
      }
      u.send(Buffer.from(msg), udpPort, "127.0.0.1");
    }
  });
  c.on("close", () => sockets.forEach((u) => u.close()));
  c.on("error", () => {});
}).listen(`${sock}.udp`, () => console.log("ready"));

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
