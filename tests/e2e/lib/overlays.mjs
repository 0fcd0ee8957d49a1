// Shared by the overlay tests: records, for every picture a page's player paints, the frame number
// stamped into the picture, the results drawn on it and the overlay canvas's pixels at the boxes'
// edges; then checks each drawn overlay against the pattern's square at that frame.

/** The pattern's square in picture `n` (server/src/sources/pattern.rs `square`). */
export function square(n, width, height) {
  const side = Math.max(Math.floor(height / 4), 2) & ~1;
  const travel = Math.max(width - side, 2);
  const x = ((n * 8) % travel) & ~1;
  const y = Math.max(Math.floor(height / 2) - Math.floor(side / 2), 0) & ~1;
  return { x, y, side };
}

/** Records painted pictures of the page's tile `stream` for `ms`; returns `{ seen, stats }`. */
export async function watch(page, stream, ms) {
  await page.evaluate((id) => {
    window.seen = [];
    const tile = window.nalcast.tiles.get(id);
    tile.player.onframe = (e) => {
      // Read the stamp and the overlay now: both canvases hold what was just painted.
      const px = tile.canvas.getContext("2d").getImageData(0, 0, 256, 16).data;
      let stamp = 0;
      for (let bit = 0; bit < 16; bit++) stamp = stamp * 2 + (px[(8 * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
      const entry = { seq: e.seq, stamp, w: e.width, h: e.height, overlay: e.overlay ?? null, edges: [] };
      if (e.overlay) {
        const ctx = tile.overlay.getContext("2d");
        for (const [x, y, , h] of e.overlay.boxes) {
          const p = ctx.getImageData(Math.round(x), Math.round(y + h / 2), 1, 1).data;
          entry.edges.push([p[0], p[1], p[2], p[3]]);
        }
      }
      window.seen.push(entry);
    };
  }, stream);
  await page.waitForTimeout(ms);
  return page.evaluate((id) => ({ seen: window.seen, stats: window.nalcast.tiles.get(id).player.stats() }), stream);
}

/** Problems with the overlays in `seen` (empty when every one is right). */
export function check(seen, { slack = 2, loose = 16 } = {}) {
  const problems = [];
  for (const e of seen.filter((x) => x.overlay)) {
    if (e.overlay.seq !== e.seq) problems.push(`overlay of frame ${e.overlay.seq} drawn on frame ${e.seq}`);
    if (e.stamp !== e.seq % 65536) problems.push(`frame ${e.seq} shows stamp ${e.stamp}`);
    const sq = square(e.stamp, e.w, e.h);
    const i = e.overlay.boxes.findIndex(([x, y, w, h]) =>
      x <= sq.x + slack && y <= sq.y + slack && x + w >= sq.x + sq.side - slack && y + h >= sq.y + sq.side - slack);
    if (i < 0) {
      problems.push(`frame ${e.seq}: no box covers the square ${JSON.stringify(sq)}: ${JSON.stringify(e.overlay.boxes)}`);
      continue;
    }
    const [, , w, h] = e.overlay.boxes[i];
    if (w > sq.side + loose || h > sq.side + loose) problems.push(`frame ${e.seq}: box ${w}x${h} is loose around a ${sq.side} square`);
    const [red, green, , alpha] = e.edges[i];
    if (!(alpha >= 200 && green > 128 && red < 128)) problems.push(`frame ${e.seq}: box edge not drawn (rgba ${e.edges[i]})`);
  }
  return problems;
}

/** Frame-id holes in what was painted (frames never painted). */
export function holes(seen) {
  let n = 0;
  for (let i = 1; i < seen.length; i++) n += Math.max(0, seen[i].seq - seen[i - 1].seq - 1);
  return n;
}
