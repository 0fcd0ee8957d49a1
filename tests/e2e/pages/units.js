// Fetches an Annex-B file and splits it into access units with nalcast's `accessUnits`.
export async function fetchUnits(url, accessUnits) {
  const data = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const flat = accessUnits(data);
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(data.subarray(flat[i], flat[i + 1]));
  return out;
}
