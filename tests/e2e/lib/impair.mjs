// A userspace network impairment proxy on loopback, for machines whose kernel has no netem. TCP
// (the page, WebSocket, HTTP streaming, WebRTC signaling) and UDP (WebRTC's DTLS/SCTP datagrams)
// are relayed to the server with, per direction:
//   UDP: each datagram dropped with probability `loss`, the rest delayed by `delayMs` plus a uniform
//        `jitterMs` (datagrams may then overtake each other, as with netem's jitter);
//   TCP: each 1448-byte segment delayed by `delayMs`; with probability `loss` a segment is "lost":
//        it and everything behind it wait one extra round trip (a fast retransmit, head-of-line
//        blocked) — a model of what loss costs TCP, without its congestion-window reaction;
//        `rateKbps` (optional) caps throughput.
// The random sequence is seeded, so a run can be repeated. Counters say what was done.
// With `bridge` (a Unix socket path served by lib/netns-bridge.mjs inside a network namespace) the
// server side is reached through that bridge instead of this namespace's loopback.
import dgram from "node:dgram";
import net from "node:net";

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEGMENT = 1448;

/** Relays `from` → `to` (sockets) with the TCP model, in order; counts into `c`. */
function tcpPipe(from, to, dir, random, c) {
  let releaseAt = 0;
  const queue = []; // [at, segment | null (end)], `at` never decreasing
  let timer = null;
  const pump = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0][0] <= now) {
      const [, seg] = queue.shift();
      if (to.destroyed) continue;
      if (seg) to.write(seg);
      else to.end();
    }
    if (queue.length) timer = setTimeout(pump, Math.max(1, queue[0][0] - now));
  };
  const push = (at, seg) => {
    queue.push([at, seg]);
    if (!timer) timer = setTimeout(pump, Math.max(0, queue[0][0] - performance.now()));
  };
  from.on("data", (chunk) => {
    const { delayMs = 0, loss = 0, rateKbps = 0 } = dir;
    for (let off = 0; off < chunk.length; off += SEGMENT) {
      const seg = chunk.subarray(off, off + SEGMENT);
      let at = Math.max(performance.now() + delayMs, releaseAt);
      if (rateKbps > 0) at = Math.max(at, releaseAt + (seg.length * 8) / rateKbps);
      if (loss > 0 && random() < loss) {
        at += 2 * delayMs + 1; // one round trip more, for everything from here on
        c.tcpLost++;
      }
      releaseAt = at;
      c.tcpSegments++;
      push(at, seg);
    }
  });
  from.on("end", () => push(releaseAt, null));
  from.on("error", () => to.destroy());
  from.on("close", () => setTimeout(() => to.destroy(), Math.max(0, releaseAt - performance.now()) + 50));
}

/**
 * Starts the proxy toward a server at 127.0.0.1:`tcpPort` (HTTP) and 127.0.0.1:`udpPort` (WebRTC),
 * or through `bridge`. Its UDP side listens on 127.0.0.1:`frontUdpPort` (0: any).
 * `down` is server → browser, `up` browser → server: { delayMs, jitterMs, loss, rateKbps }.
 * Resolves { tcpPort, udpPort, counters, set({ up, down }), close }; `set` changes the impairment
 * of live connections too.
 */
export async function startImpairProxy({ tcpPort, udpPort, bridge, frontUdpPort = 0, up: up0 = {}, down: down0 = {}, seed = 1 }) {
  const up = { ...up0 };
  const down = { ...down0 };
  const random = rng(seed);
  const counters = { udpIn: 0, udpDropped: 0, tcpSegments: 0, tcpLost: 0 };
  const sockets = new Set();
  const tcp = net.createServer((client) => {
    const server = bridge ? net.connect(`${bridge}.tcp`) : net.connect(tcpPort, "127.0.0.1");
    client.setNoDelay(true);
    server.setNoDelay(true);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    tcpPipe(client, server, up, random, counters);
    tcpPipe(server, client, down, random, counters);
  });
  await new Promise((r) => tcp.listen(0, "127.0.0.1", r));

  // UDP: one front socket the browser talks to; one back socket per browser address toward the server.
  const front = dgram.createSocket("udp4");
  const backs = new Map();
  const relay = (dir, msg, send) => {
    counters.udpIn++;
    if (dir.loss > 0 && random() < dir.loss) return void counters.udpDropped++;
    const wait = (dir.delayMs ?? 0) + (dir.jitterMs ?? 0) * random();
    if (wait <= 0) send(msg);
    else setTimeout(() => send(msg), wait);
  };
  // Through the bridge: one Unix connection, datagrams framed as key u32, len u16, bytes.
  const keyed = new Map(); // key → browser address
  let udpBridge = null;
  if (bridge) {
    udpBridge = net.connect(`${bridge}.udp`);
    sockets.add(udpBridge);
    let buf = Buffer.alloc(0);
    udpBridge.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 6 && buf.length >= 6 + buf.readUInt16BE(4)) {
        const to = keyed.get(buf.readUInt32BE(0));
        const msg = Buffer.from(buf.subarray(6, 6 + buf.readUInt16BE(4)));
        buf = buf.subarray(6 + msg.length);
        if (to) relay(down, msg, (x) => front.send(x, to.port, to.address));
      }
    });
    udpBridge.on("error", () => {});
  }
  front.on("message", (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(key);
    if (!back && udpBridge) {
      const id = backs.size + 1;
      keyed.set(id, rinfo);
      back = {
        send: (x) => {
          const h = Buffer.alloc(6);
          h.writeUInt32BE(id, 0);
          h.writeUInt16BE(x.length, 4);
          udpBridge.write(Buffer.concat([h, x]));
        },
        close: () => {},
      };
      backs.set(key, back);
    } else if (!back) {
      const s = dgram.createSocket("udp4");
      s.on("message", (m) => relay(down, m, (x) => front.send(x, rinfo.port, rinfo.address)));
      s.on("error", () => {});
      s.bind(0, "127.0.0.1");
      back = { send: (x) => s.send(x, udpPort, "127.0.0.1"), close: () => s.close() };
      backs.set(key, back);
    }
    relay(up, msg, (x) => back.send(x));
  });
  front.on("error", () => {});
  await new Promise((r) => front.bind(frontUdpPort, "127.0.0.1", r));
  return {
    tcpPort: tcp.address().port,
    udpPort: front.address().port,
    counters,
    set: (x) => {
      for (const k of Object.keys(up)) delete up[k];
      for (const k of Object.keys(down)) delete down[k];
      Object.assign(up, x.up ?? {});
      Object.assign(down, x.down ?? {});
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      for (const b of backs.values()) b.close();
      front.close();
      await new Promise((r) => tcp.close(r));
    },
  };
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export function freeUdpPort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
