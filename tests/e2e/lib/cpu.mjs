// CPU time spent by one headless Chromium: user + system time of every process in its tree (the
// browser, renderers, GPU and utility processes, with all their threads, including threads that
// already ended), read from /proc. Benchmarks take it before and after a run to report CPU ms per
// frame beside frames per second, so a decoder that spreads over several cores shows its real cost.
import fs from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

/** Process ids of the Chromium that uses `profile` as its user data dir, and all its descendants. */
export function chromiumPids(profile) {
  const all = new Map();
  const roots = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    all.set(Number(name), s.ppid);
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmd.includes(`--user-data-dir=${profile}`)) roots.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of all) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** Milliseconds of CPU used so far by the Chromium tree of `profile` (10 ms resolution). */
export function chromiumCpuMs(profile) {
  let ticks = 0;
  for (const pid of chromiumPids(profile)) ticks += stat(pid)?.ticks ?? 0;
  return ticks * TICK_MS;
}
