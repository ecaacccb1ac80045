// A Datanet version's page: what the chain recorded (root, counts, manifest CID) and the manifest itself,
// read from content storage and checked against it: which contributions the version holds, records per
// contribution and per contributor, each linked to its page, with the Datanet's schema and licence.
import { addr, api, bars, cid, esc, facts, pill, table, when } from "./lib.js";

const PAGE = 1000;

function shapes(schema) {
  return schema ? schema.shapes.map((s) => `{${s.join(", ")}}`).join(" or ") : "";
}

function check(v) {
  if (!v.manifest.ok) return `<span class="error">manifest not loaded: ${esc(v.manifest.error)}</span>`;
  const problems = v.manifest_check.problems;
  const chain = problems.length
    ? `<span class="error" id="manifest-problems">does not match the chain: ${esc(problems.join("; "))}</span>`
    : `<span class="pill accepted" id="manifest-ok">matches the chain</span>`;
  const registry = v.entries_not_in_registry
    ? ` · <span class="error">${esc(v.entries_not_in_registry)} entries differ from the registry</span>`
    : " · every entry is the registry's contribution";
  return chain + registry;
}

export async function version(datanetId, versionId) {
  const base = `datanets/${datanetId}/versions/${versionId}`;
  const [v, entries] = await Promise.all([api(base), api(`${base}/contributions?limit=${PAGE}`)]);
  const body = v.manifest.ok ? v.manifest.body : null;
  const schema = v.schema;
  const m = document.getElementById("main");
  m.innerHTML = `<h1>Datanet <a href="#/datanets/${esc(v.datanet_id)}">#${esc(v.datanet_id)}</a>, version ${esc(v.version_id)}</h1>
    <div class="grid2">
    <section class="card" id="version"><h2>On-chain</h2>${facts([
      ["Merkle root", `<code>${esc(v.merkle_root)}</code>`], ["manifest", cid(v.manifest_cid)],
      ["records", esc(v.record_count)], ["contributions", esc(v.contribution_count)],
      ["published", esc(when(v.published_at))],
      ["models trained on it", v.models.map((x) => `<a href="#/models/${x.id}">#${x.id}</a> ${pill(x.live ? "live" : "not live")}`).join(" ") || "none yet"],
    ])}</section>
    <section class="card" id="manifest"><h2>Manifest</h2>${facts([
      ["check", check(v)], ["format", esc(body?.format ?? "–")],
      ["contributors", esc(body?.contributors ?? "–")],
      ["licence", esc(v.licence ?? "–")], ["task", esc(v.task ?? "–")],
      ["schema", schema ? `<code>${esc(shapes(schema))}</code> (optional: ${esc(schema.optional.join(", "))})` : "–"],
      ["labels", esc(schema?.labels?.join(", ") || "–")],
      ["CIDs", esc(body?.cid_profile ? Object.entries(body.cid_profile).map(([k, x]) => `${k} ${x}`).join(", ") : "–")],
    ])}<p class="muted">Licence and schema are the Datanet's metadata (${cid(v.metadata_cid)}), which the version's
      records follow; the manifest lists the contributions and commits to them through the Merkle root.</p></section></div>
    <h2>Records per contributor (${esc(v.contributors.length)})</h2>
    <section class="card" id="version-contributors">${bars(v.contributors.map((c) => ({ label: c.contributor.slice(0, 10) + "…", value: Number(c.records) })))}
    ${table(["contributor", "contributions", "records"], v.contributors.map((c) => [addr(c.contributor), esc(c.contributions), esc(c.records)]))}</section>
    <h2>Contributions in this version (${esc(entries.total)})</h2>
    ${table(["#", "contributor", "records", "bytes", "content", "status now", "registry"], entries.items.map((e) => [
      `<a href="#/contributions/${esc(e.contribution_id)}">#${esc(e.contribution_id)}</a>`, addr(e.contributor),
      esc(e.record_count), esc(e.byte_size), cid(e.cid), e.status ? pill(e.status) : "–",
      e.in_registry ? "same" : `<span class="error">differs</span>`,
    ]), "version-contributions")}
    ${entries.total > entries.items.length ? `<p class="muted">the first ${esc(entries.items.length)}; the API pages on (${esc(base)}/contributions?offset=…)</p>` : ""}`;
  m.dataset.state = "ready";
}
