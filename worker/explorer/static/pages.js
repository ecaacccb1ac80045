// The explorer's pages: each renders from the read API into <main>; actions build a plan through the API
// (checks, uploads, calldata) and the connected wallet signs and sends it.
import {
  account, addr, api, bars, cid, esc, event, facts, indexed, line, notice, open, pill, sendPlan,
  signTypedData, table, toWei, wallet, when,
} from "./lib.js";

const main = () => document.getElementById("main");
const PAGE = 1000; // rows per list: a Datanet's contributions, a model's contributors

function show(html, state = "ready") {
  const m = main();
  m.innerHTML = html;
  m.dataset.state = state;
}

// Run an action: notices while it works, the error explained if it fails, the page re-rendered after
// either way (a failure may come from a state that changed under the page: show the state now).
async function act(button, work, rerender, { refreshOnError = true } = {}) {
  button.disabled = true;
  let kind = "ok", message;
  try {
    message = await work((text) => notice("info", text));
  } catch (error) {
    kind = "error";
    message = error.message || String(error);
  }
  try {
    if (kind === "ok" || refreshOnError) await rerender();
  } catch (error) {
    message += ` (the page could not be refreshed: ${error.message})`;
  }
  button.disabled = false;
  notice(kind, message);
}

async function run(plan, progress) {
  const receipts = await sendPlan(plan, progress);
  await indexed(receipts[receipts.length - 1].block);
  return receipts;
}

// -- home, lists ---------------------------------------------------------------------------------------

export async function home() {
  const [status, datanets, models, workers] = await Promise.all([
    api("status"), api("datanets"), api("models"), api("workers"),
  ]);
  const c = status.counts;
  show(`<h1>OpenLedger explorer</h1>
    <section class="card">${facts([
      ["chain", esc(status.chain_id)], ["indexed block", esc(status.indexed_block)],
      ["datanets", esc(c.datanets)], ["contributions", esc(c.contributions)], ["models", esc(c.models)],
      ["training jobs", esc(c.jobs)], ["inference payments", esc(c.payments)], ["epochs", esc(c.epochs)],
      ["claims", esc(c.claims)],
    ])}${status.indexer_error ? `<p class="error">indexer: ${esc(status.indexer_error)}</p>` : ""}</section>
    <h2>Datanets</h2>${datanetTable(datanets.items)}
    <h2>Models</h2>${modelTable(models.items)}
    <h2>Workers</h2>${table(["worker", "status", "stake", "locked", "slashed", "endpoint"], workers.items.map((w) => [
      addr(w.address), pill(w.status), open(w.stake), open(w.locked), open(w.slashed), esc(w.endpoint),
    ]), "workers")}`);
}

function datanetTable(items) {
  return table(["id", "name", "task", "licence", "owner", "contributions", "accepted", "versions"], items.map((d) => [
    `<a href="#/datanets/${d.id}">#${d.id}</a>`, esc(d.name ?? "(metadata not loaded)"), esc(d.task ?? ""),
    esc(d.licence ?? ""), addr(d.owner), esc(d.contribution_count), esc(d.accepted_count), esc(d.version_count),
  ]), "datanets");
}

function modelTable(items) {
  return table(["id", "base", "datanet version", "price", "status", "owner"], items.map((m) => [
    `<a href="#/models/${m.id}">#${m.id}</a>`, esc(m.base_model.split("/").pop()),
    `<a href="#/datanets/${m.datanet_id}">${m.datanet_id}</a> v${m.version_id}`, open(m.price),
    pill(m.live ? "live" : "not live"), addr(m.owner),
  ]), "models");
}

export async function datanets() {
  const listed = await api(`datanets?limit=${PAGE}`);
  show(`<h1>Datanets</h1>${datanetTable(listed.items)}`);
}

export async function models() {
  const listed = await api(`models?limit=${PAGE}`);
  show(`<h1>Models</h1>${modelTable(listed.items)}`);
}

// -- a Datanet -----------------------------------------------------------------------------------------

export async function datanet(id) {
  const [d, contributions] = await Promise.all([
    api(`datanets/${id}`), api(`datanets/${id}/contributions?limit=${PAGE}`),
  ]);
  const meta = d.metadata.ok ? d.metadata.body : null;
  const schema = meta?.schema;
  const shapes = schema ? schema.shapes.map((s) => `{${s.join(", ")}}`).join(" or ") : "";
  const counts = Object.entries(d.by_status).map(([k, v]) => `${pill(k)} ${esc(v.count)} (${esc(v.records)} records)`);
  show(`<h1>Datanet #${esc(d.id)}: ${esc(meta?.name ?? "(metadata unavailable)")}</h1>
    <div class="grid2">
    <section class="card" id="metadata"><h2>Metadata</h2>${meta ? facts([
      ["description", esc(meta.description || "–")], ["task", esc(meta.task)], ["licence", esc(meta.licence)],
      ["schema", `<code>${esc(shapes)}</code> (optional: ${esc(schema.optional.join(", "))})`],
      ["labels", esc(schema.labels.join(", ") || "–")],
      ["limits", esc(`${meta.limits.max_records} records, ${meta.limits.max_record_chars} chars per record, ${meta.limits.max_file_bytes} bytes per file`)],
      ["metadata", cid(d.metadata_cid)],
    ]) : `<p class="error">${esc(d.metadata.error)}</p>`}</section>
    <section class="card" id="policy"><h2>Policy and curators</h2>${facts([
      ["owner", addr(d.owner)], ["treasury", addr(d.treasury)],
      ["stake per contribution", open(d.stake)], ["review period", esc(`${d.review_period} s`)],
      ["slashed on reject", esc(`${d.slash_bps / 100} %`)], ["created", esc(when(d.created_at))],
      ["curators", d.curators.map(addr).join("<br>") || "none"],
      ["contributions", counts.join(" · ") || "none yet"],
    ])}</section></div>
    <h2>Versions</h2>${table(["version", "records", "contributions", "Merkle root", "manifest", "published", "models"],
      d.versions.map((v) => [`<a href="#/datanets/${d.id}/versions/${v.version_id}">v${v.version_id}</a>`, esc(v.record_count), esc(v.contribution_count),
        `<code>${esc(v.merkle_root.slice(0, 18))}…</code>`, cid(v.manifest_cid), esc(when(v.published_at)),
        d.models.filter((m) => m.version_id === v.version_id).map((m) => `<a href="#/models/${m.id}">#${m.id}</a>`).join(" ")]), "versions")}
    <section class="card"><h2>Contribute a file</h2>
      <form class="action" id="contribute-form">
        <label>JSON Lines file (${esc(shapes)} per line)<input type="file" id="contribute-file" accept=".jsonl,.json,.txt"></label>
        <div class="row"><button type="submit" id="contribute">Validate, upload and contribute</button>
        <span class="muted">stake ${open(d.stake)}; nothing is sent until the file validates</span></div>
      </form>
      <div id="validation"></div></section>
    <section class="card"><h2>Publish a version</h2>
      <p class="muted">The owner publishes every accepted contribution as the next immutable version.</p>
      <button type="button" id="publish">Publish version ${esc(d.version_count + 1)}</button></section>
    <h2>Contributions (${esc(contributions.total)})</h2>${contributionTable(contributions.items)}`);
  document.getElementById("contribute-form").addEventListener("submit", (e) => {
    e.preventDefault();
    // a refused file keeps its line-by-line report on the page (nothing changed on-chain)
    act(document.getElementById("contribute"), (p) => contribute(id, p), () => datanet(id), { refreshOnError: false });
  });
  document.getElementById("publish").addEventListener("click", (e) =>
    act(e.target, async (p) => {
      const plan = await api(`actions/publish/${id}`, { json: { account: await account() } });
      const receipts = await run(plan, p);
      return `published version ${event(receipts, "VersionPublished").args.versionId} (root ${plan.details.merkle_root.slice(0, 12)}…)`;
    }, () => datanet(id)));
}

function contributionTable(items) {
  return table(["#", "contributor", "status", "records", "bytes", "stake", "slashed", "reason", "CID"], items.map((c) => [
    `<a href="#/contributions/${c.id}">#${c.id}</a>`, addr(c.contributor), pill(c.status), esc(c.record_count),
    esc(c.byte_size), open(c.stake), c.slashed !== "0" ? open(c.slashed) : "–", c.reason_cid ? "yes" : "–", cid(c.cid),
  ]), "contributions");
}

async function contribute(id, progress) {
  const file = document.getElementById("contribute-file").files[0];
  if (!file) throw new Error("choose a JSON Lines file first");
  const from = await account();
  const data = new Uint8Array(await file.arrayBuffer());
  progress("validating the file (schema, limits, duplicates) before anything is uploaded or sent…");
  const box = document.getElementById("validation");
  let report;
  try {
    report = await api(`datanets/${id}/validate?account=${from}`, { method: "POST", body: data });
  } catch (error) {
    const lines = error.body?.error?.lines || [];
    box.innerHTML = lines.length ? table(["line", "code", "problem"], lines.map((l) =>
      [esc(l.line || "file"), `<code>${esc(l.code)}</code>`, esc(l.message)]), "validation-errors") : "";
    if (!lines.length) throw error;
    throw new Error(`${file.name}: ${lines.length} invalid line(s); nothing was uploaded or sent`);
  }
  box.innerHTML = facts([["records", esc(report.record_count)], ["bytes", esc(report.byte_size)],
    ["CID", cid(report.cid)], ["duplicates", esc(report.duplicates.join("; ") || "none")]]);
  if (report.problems.length) throw new Error(report.problems.join("\n"));
  progress("uploading to content storage…");
  const uploaded = await api(`datanets/${id}/upload`, { method: "POST", body: data });
  const plan = await api(`actions/contribute/${id}`, { json: { account: from, cid: uploaded.cid } });
  const receipts = await run(plan, progress);
  return `contribution #${event(receipts, "ContributionSubmitted").args.contributionId} submitted (${uploaded.record_count} records)`;
}

// -- a contribution ------------------------------------------------------------------------------------

export async function contribution(id) {
  const c = await api(`contributions/${id}`);
  const reason = c.reason.ok ? c.reason.body : null;
  show(`<h1>Contribution #${esc(c.id)} ${pill(c.status)}</h1>
    <section class="card" id="contribution">${facts([
      ["datanet", `<a href="#/datanets/${c.datanet_id}">#${esc(c.datanet_id)}</a>`],
      ["contributor", addr(c.contributor)], ["status", pill(c.status)],
      ["records", esc(c.record_count)], ["bytes", esc(c.byte_size)], ["content", `<code>${esc(c.cid)}</code>`],
      ["stake", `${open(c.stake)} ${c.stake_released ? "(released)" : "(escrowed)"}`],
      ["slashed", open(c.slashed)], ["refunded", open(c.refunded)],
      ["reviewed by", c.curator ? addr(c.curator) : "not yet"],
      ["reason", reason ? `<span id="reason">${esc(reason.reason ?? JSON.stringify(reason))}</span>` : (c.reason_cid ? esc(c.reason.error) : "–")],
      ["submitted", esc(when(c.submitted_at))],
    ])}</section>
    <h2>Attribution</h2>${c.attribution.length ? table(["model", "job", "records", "weight", "positive", "negative", "flagged"],
      c.attribution.map((a) => [`<a href="#/models/${a.model_id}">#${a.model_id}</a>`, esc(a.job_id), esc(a.records),
        esc((a.weight * 100).toFixed(2) + " %"), esc(a.positive.toPrecision(3)), esc(a.negative.toPrecision(3)),
        a.flagged ? pill("flagged") : "–"]), "contribution-attribution") : `<p class="muted">no model trained on it yet</p>`}
    <section class="card"><h2>Review</h2>
      <form class="action" id="review-form">
        <label>Reason (optional, stored on content storage, its CID on-chain)<textarea id="review-reason" rows="2"></textarea></label>
        <div class="row"><button type="button" id="accept">Accept</button><button type="button" class="secondary" id="reject">Reject (slash)</button></div>
      </form></section>`);
  for (const accept of [true, false]) {
    document.getElementById(accept ? "accept" : "reject").addEventListener("click", (e) =>
      act(e.target, async (p) => {
        const reason = document.getElementById("review-reason").value;
        const plan = await api(`actions/review/${id}`, { json: { account: await account(), accept, reason } });
        const receipts = await run(plan, p);
        const reviewed = event(receipts, "ContributionReviewed").args;
        return `contribution #${id} ${accept ? "accepted" : `rejected: ${open(reviewed.slashed)} slashed`}`;
      }, () => contribution(id)));
  }
}

// -- a model -------------------------------------------------------------------------------------------

export async function model(id) {
  const [m, contributors, contributions] = await Promise.all([
    api(`models/${id}`), api(`models/${id}/attribution?party=contributor&limit=${PAGE}`),
    api(`models/${id}/attribution?party=contribution&limit=${PAGE}`),
  ]);
  const metrics = m.metrics.ok ? m.metrics.body : null;
  const final = metrics?.metrics?.final || {};
  const report = contributors.report?.ok ? contributors.report.body : null;
  show(`<h1>Model #${esc(m.id)} ${pill(m.live ? "live" : "not live")}</h1>
    <div class="grid2"><section class="card" id="model">${facts([
      ["base model", `<span title="${esc(m.base_model)}">${esc(m.base_model.split("/").pop())}</span>`], ["datanet version", `<a href="#/datanets/${m.datanet_id}">#${esc(m.datanet_id)}</a> v${esc(m.version_id)}`],
      ["owner", addr(m.owner)], ["price per inference", open(m.price)],
      ["live", m.live ? `yes, job ${esc(m.live_job_id)}` : "no"], ["compute provider", addr(m.provider)],
      ["adapter", cid(m.adapter_cid)], ["training spec", cid(m.spec_cid)],
      ["paid requests", esc(m.payments.requests)],
      ["fine-tuned from", m.parent_model_id ? `<a href="#/models/${esc(m.parent_model_id)}">model #${esc(m.parent_model_id)}</a> (its job ${esc(m.parent_job_id)}, depth ${esc(m.lineage_depth)})` : "– (trained from the base)"],
      ["derived models", m.derived.length ? m.derived.map((d) => `<a href="#/models/${esc(d)}">#${esc(d)}</a>`).join(" ") : "–"],
    ])}</section>
    <section class="card" id="metrics"><h2>Metrics ${m.result_job_id ? `(job ${esc(m.result_job_id)})` : ""}</h2>${metrics ? facts(
      Object.entries(final).map(([k, v]) => [k, esc(typeof v === "number" ? v.toPrecision(4) : v)]).concat([
        ["train / validation records", esc(`${metrics.metrics.train_records ?? "?"} / ${metrics.metrics.validation_records ?? "?"}`)]]))
      : `<p class="muted">${esc(m.metrics.error)}</p>`}
      ${metrics?.validation_accuracy !== null && metrics?.validation_accuracy < 0.6 ? `<p class="error">weak model: validation accuracy below 0.6</p>` : ""}</section></div>
    <h2>Training jobs</h2>${m.jobs.map(jobTimeline).join("") || `<p class="muted">no training requested yet</p>`}
    <h2>Attribution per contributor (${esc(contributors.total)})</h2>
    <section class="card" id="attribution-contributors">${bars(contributors.items.map((a) => ({ label: a.key.slice(0, 10) + "…", value: a.weight * 100 })), { unit: " %" })}
    ${table(["contributor", "records", "weight", "positive", "negative", "model-level", "flagged"], contributors.items.map((a) => [
      addr(a.key), esc(a.records), esc((a.weight * 100).toFixed(2) + " %"), esc(a.positive.toPrecision(3)),
      esc(a.negative.toPrecision(3)), esc(a.model_level === null ? "–" : a.model_level.toPrecision(3)), a.flagged ? pill("flagged") : "–"]))}</section>
    <h2>Attribution per contribution (${esc(contributions.total)})</h2>
    <section class="card" id="attribution-contributions">${bars(contributions.items.map((a) => ({ label: "#" + a.key, value: a.positive - a.negative })))}
    ${table(["contribution", "records", "weight", "net score", "flagged"], contributions.items.slice(0, 100).map((a) => [
      `<a href="#/contributions/${esc(a.key)}">#${esc(a.key)}</a>`, esc(a.records), esc((a.weight * 100).toFixed(2) + " %"),
      esc((a.positive - a.negative).toPrecision(3)), a.flagged ? pill("flagged") : "–"]))}</section>
    <h2>Evidence</h2><section class="card" id="evidence">${report ? evidence(report) : `<p class="muted">no attribution report loaded</p>`}</section>
    <section class="card"><h2>Pay and ask</h2>
      <form class="action" id="ask-form"><label>Text<input id="ask-text" value="good great happy"></label>
      <div class="row"><button type="submit" id="ask">Pay ${open(m.price)} and ask</button></div></form>
      <pre class="evidence" id="answer" hidden></pre></section>`);
  document.getElementById("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act(document.getElementById("ask"), (p) => ask(m, p), async () => {});
  });
}

function jobTimeline(job) {
  const rows = job.timeline.map((t) => [esc(when(t.timestamp)), esc(t.name), `<code>${esc(JSON.stringify(t.detail))}</code>`]);
  return `<section class="card job" id="job-${esc(job.id)}"><div class="row"><strong>job ${esc(job.id)}</strong>${pill(job.status)}
    <span class="muted">bounty ${open(job.bounty)}, requested by ${addr(job.requester)}${job.worker ? `, worker ${addr(job.worker)}` : ""}</span></div>
    ${table(["when", "event", "detail"], rows)}</section>`;
}

function evidence(report) {
  const lines = [`method: ${report.method}`, `${report.records} training records, ${report.queries} queries`];
  for (const q of report.evidence) {
    lines.push(`\nquery ${q.query.slice(0, 12)}… (label ${q.label ?? "–"})`);
    for (const row of q.top) lines.push(`  record ${row.record} (contribution #${row.contribution}, ${row.contributor.slice(0, 10)}…) score ${row.score}`);
    for (const span of q.spans) lines.push(`  span "${span.text}" from contribution #${span.contribution}`);
  }
  if (report.flagged_records.length) lines.push(`\nflagged records: ${report.flagged_records.join(", ")}`);
  return `<pre class="evidence">${esc(lines.join("\n"))}</pre>`;
}

async function ask(m, progress) {
  const from = await account();
  const plan = await api(`actions/pay/${m.id}`, { json: { account: from, requests: 1 } });
  const receipts = await run(plan, progress);
  const paymentId = event(receipts, "InferencePaid").args.paymentId;
  const text = document.getElementById("ask-text").value;
  const generation = m.task === "generation"; // completions take the OpenAI body, classifiers {text}
  const body = JSON.stringify(generation ? { model: String(m.id), prompt: text, max_tokens: 16 } : { text });
  const typed = await api(`models/${m.id}/typed-data`, { json: { payment_id: Number(paymentId), index: 0, body } });
  progress("sign the request in your wallet (no gas)…");
  const signature = await signTypedData(typed);
  const answer = await api(`models/${m.id}/ask?task=${generation ? "generation" : "classification"}`, {
    method: "POST", body,
    headers: { "content-type": "application/json", "X-OpenLedger-Payment": String(paymentId),
      "X-OpenLedger-Request-Index": "0", "X-OpenLedger-Signature": signature },
  });
  const r = answer.receipt;
  const out = document.getElementById("answer");
  out.hidden = false;
  out.textContent = [`answer: ${answer.output.label ?? answer.output.text}`,
    `receipt: payment ${r.paymentId ?? paymentId}, signed by ${r.signer ?? "the provider"}`,
    ...(r.contributors || []).map((c, i) => `  ${c}: ${((r.weightsPpm?.[i] ?? 0) / 10000).toFixed(1)} %`)].join("\n");
  return `paid ${open(plan.details.price)} (payment ${paymentId}) and got an answer: ${answer.output.label ?? answer.output.text}`;
}

// -- epochs and claims ---------------------------------------------------------------------------------

export async function epochs() {
  const listed = await api(`epochs?limit=${PAGE}`);
  show(`<h1>Epochs</h1>${table(["model", "epoch", "status", "total", "claims", "poster", "posted", "challenge until", "claim until"],
    listed.items.map((e) => [`<a href="#/models/${e.model_id}">#${e.model_id}</a>`, `<a href="#/epochs/${e.model_id}/${e.epoch}">${e.epoch}</a>`,
      pill(e.status), open(e.total), esc(e.claims), addr(e.poster), esc(when(e.posted_at)), esc(when(e.challenge_deadline)),
      esc(when(e.claim_deadline))]), "epochs")}`);
}

export async function epochPage(modelId, number) {
  const e = await api(`epochs/${modelId}/${number}`);
  const report = e.report.ok ? e.report.body : null;
  show(`<h1>Epoch ${esc(number)} of model #${esc(modelId)} ${pill(e.status)}</h1>
    <section class="card">${facts([["root", `<code>${esc(e.root)}</code>`], ["total", open(e.total)], ["poster", addr(e.poster)],
      ["report", cid(e.report_cid)], ["receipts", esc(report?.receipts ?? "?")], ["challenge window until", esc(when(e.challenge_deadline))],
      ["claimable until", esc(when(e.claim_deadline))]])}</section>
    <h2>Amounts and claims</h2>${table(["leaf", "account", "amount", "claimed"], e.amounts.map((a) => [esc(a.leaf_index), addr(a.account),
      open(a.amount), a.claim_tx ? pill("claimed") : "–"]), "amounts")}
    <button type="button" id="claim">Claim my share</button>`);
  document.getElementById("claim").addEventListener("click", (ev) => act(ev.target, (p) => claim(modelId, number, p), () => epochPage(modelId, number)));
}

async function claim(modelId, number, progress) {
  const plan = await api(`actions/claim/${modelId}/${number}`, { json: { account: await account() } });
  const receipts = await run(plan, progress);
  return `claimed ${open(event(receipts, "Claimed").args.amount)} from epoch ${number} of model #${modelId}`;
}

// -- my account ----------------------------------------------------------------------------------------

export async function accountPage(address) {
  const who = address || wallet.account;
  if (!who) {
    show(`<h1>My account</h1><p>Connect your wallet to see your contributions, attribution shares and earnings.</p>
      <button type="button" id="connect-here">Connect wallet</button>`, "ready");
    document.getElementById("connect-here").addEventListener("click", async () => { await account(); await accountPage(); });
    return;
  }
  const a = await api(`accounts/${who}`);
  let total = 0n;
  const earned = a.earnings.map((e) => ({ t: e.posted_at || a.now, value: Number((total += BigInt(e.amount)) / 10n ** 12n) / 1e6 }));
  const own = wallet.account && wallet.account.toLowerCase() === who.toLowerCase();
  show(`<h1>${own ? "My account" : "Account"} <code>${esc(a.address)}</code></h1>
    <div class="grid2"><section class="card" id="balances">${facts([["OPEN held", open(a.balance)],
      ["claimable now", `<strong id="claimable">${open(a.claimable)}</strong>`], ["withdrawable (credited)", `<strong id="withdrawable">${open(a.withdrawable)}</strong>`],
      ...a.credits.map((c) => [`credited by ${c.contract}`, `${open(c.balance)} (ever ${open(c.credited)}, withdrawn ${open(c.withdrawn)})`])])}
      ${own ? `<div class="row"><button type="button" id="claim-all">Claim everything claimable</button><button type="button" class="secondary" id="withdraw">Withdraw</button></div>` : ""}</section>
    <section class="card" id="earnings-chart"><h2>Earnings over time</h2>${line(earned, { label: "cumulative OPEN earned (epochs posted)" })}</section></div>
    <h2>Earnings by epoch</h2>${table(["model", "epoch", "amount", "state", "posted"], a.earnings.map((e) => [
      `<a href="#/models/${e.model_id}">#${e.model_id}</a>`, `<a href="#/epochs/${e.model_id}/${e.epoch}">${e.epoch}</a>`, open(e.amount), pill(e.state), esc(when(e.posted_at))]), "earnings")}
    <h2>Attribution shares</h2>${table(["model", "job", "records", "share", "model-level", "flagged"], a.attribution.map((s) => [
      `<a href="#/models/${s.model_id}">#${s.model_id}</a>`, esc(s.job_id), esc(s.records), esc((s.weight * 100).toFixed(2) + " %"),
      esc(s.model_level === null ? "–" : s.model_level.toPrecision(3)), s.flagged ? pill("flagged") : "–"]), "shares")}
    <h2>Contributions</h2>${contributionTable(a.contributions)}
    <h2>Inference payments</h2>${table(["payment", "model", "requests", "amount"], a.payments.map((p) => [esc(p.id),
      `<a href="#/models/${p.model_id}">#${p.model_id}</a>`, esc(p.request_count), open(p.amount)]), "payments")}`);
  if (!own) return;
  document.getElementById("claim-all").addEventListener("click", (e) => act(e.target, async (p) => {
    const due = a.earnings.filter((x) => x.state === "claimable");
    if (!due.length) throw new Error("nothing is claimable right now");
    for (const x of due) await claim(x.model_id, x.epoch, p);
    return `claimed ${due.length} epoch(s), ${open(a.claimable)} in all`;
  }, () => accountPage(who)));
  document.getElementById("withdraw").addEventListener("click", (e) => act(e.target, async (p) => {
    const plan = await api("actions/withdraw", { json: { account: await account() } });
    const receipts = await run(plan, p);
    const paid = receipts.map((r) => r.events.find((x) => x.name === "Withdrawn")).filter(Boolean);
    return `withdrew ${paid.map((w) => open(w.args.amount)).join(" + ")}`;
  }, () => accountPage(who)));
}

// -- create a Datanet ----------------------------------------------------------------------------------

export async function create() {
  show(`<h1>Create a Datanet</h1><section class="card"><form class="action" id="create-form">
    <label>Name<input id="f-name" required></label>
    <label>Task<select id="f-task"><option>classification</option><option>generation</option></select></label>
    <label>Labels (comma-separated, classification)<input id="f-labels" value="negative,positive"></label>
    <label>Licence<input id="f-licence" value="CC-BY-4.0"></label>
    <label>Description<input id="f-description"></label>
    <label>Stake per contribution (OPEN)<input id="f-stake" value="10"></label>
    <label>Review period (seconds)<input id="f-review" value="86400"></label>
    <label>Slashed on reject (basis points)<input id="f-slash" value="5000"></label>
    <label>Curators (comma-separated addresses)<input id="f-curators"></label>
    <button type="submit" id="create">Create (signed in your wallet)</button></form></section>`);
  document.getElementById("create-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act(document.getElementById("create"), async (p) => {
      const value = (id) => document.getElementById(id).value.trim();
      const list = (id) => value(id).split(",").map((x) => x.trim()).filter(Boolean);
      const plan = await api("actions/create-datanet", { json: {
        account: await account(), name: value("f-name"), task: value("f-task"), labels: list("f-labels"),
        licence: value("f-licence"), description: value("f-description"), stake: toWei(value("f-stake")),
        review_period: Number(value("f-review")), slash_bps: Number(value("f-slash")), curators: list("f-curators"),
      } });
      const receipts = await run(plan, p);
      const created = event(receipts, "DatanetCreated").args.datanetId;
      location.hash = `#/datanets/${created}`;
      return `created Datanet #${created}`;
    }, async () => {});
  });
}
