// tinyh264 as its package intends: its own worker entry (`init` from the package) decoding access
// units posted as `{ type: "decode", data, offset, length, renderStateId }` and answering each picture
// with `{ type: "pictureReady", width, height, data }` (tight I420). Served from node_modules.
import { init } from "/tiny/index.js";

init();
