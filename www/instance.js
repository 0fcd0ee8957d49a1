// Owns the page's nalcast wasm instance and replaces it when it traps. A trap (WebAssembly.RuntimeError:
// a Rust panic or any other `unreachable`) poisons the whole instance — RefCells left borrowed,
// allocator state — so recovery never calls into it again beyond a best-effort close: it imports the
// package anew under another URL (a new module record, so a new wasm instance and memory) and hands
// it to `onRecover`, which recreates the players. Errors from an instance already replaced are ignored.

const PKG = new URL("./pkg/nalcast.js", import.meta.url).href;
const MIN_INTERVAL_MS = 2000; // at most one recovery per interval: a storm of traps is one event

export class Instances {
  /** onRecover(module, recoveries) runs after a fresh instance is ready. */
  constructor(onRecover) {
    this.onRecover = onRecover;
    this.count = 0; // instances loaded
    this.recoveries = 0;
    this.current = null; // { module, url }
    this.urls = [];
    this.busy = false;
    this.lastRecovery = -Infinity;
    Error.stackTraceLimit = Math.max(Error.stackTraceLimit ?? 10, 100); // keep the glue frame in deep traps
    addEventListener("error", (e) => this.report(e.error));
    addEventListener("unhandledrejection", (e) => this.report(e.reason));
  }

  /** Imports and initialises a new instance of the package; the first one under its plain URL. */
  async load() {
    this.count += 1;
    const url = this.count === 1 ? PKG : `${PKG}?instance=${this.count}`;
    const module = await import(url);
    await module.default();
    this.urls.push(url);
    this.current = { module, url };
    return module;
  }

  /** Which loaded instance an error's stack runs through, if it names one. */
  instanceOf(error) {
    const stack = String(error?.stack ?? "");
    return this.urls.find((u) => stack.includes(`${u}:`)) ?? null;
  }

  /** Call with anything thrown near nalcast calls; recovers if it is a trap of the current instance. */
  report(error) {
    if (!(error instanceof WebAssembly.RuntimeError)) return false;
    const from = this.instanceOf(error);
    if (from !== null && from !== this.current?.url) return false; // an old, already replaced instance
    if (this.busy || performance.now() - this.lastRecovery < MIN_INTERVAL_MS) return false;
    this.busy = true;
    console.error(`nalcast: the wasm instance trapped (${error.message}); starting a fresh one`);
    this.recover().finally(() => {
      this.busy = false;
      this.lastRecovery = performance.now();
    });
    return true;
  }

  async recover() {
    const module = await this.load();
    this.recoveries += 1;
    await this.onRecover(module, this.recoveries);
  }
}
