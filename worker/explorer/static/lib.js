// Shared helpers of the explorer pages: the API, formatting, inline SVG charts and the wallet.
import { BrowserProvider, formatUnits, getAddress, parseUnits } from "../vendor/ethers.js";

export const API = new URL("../api/", import.meta.url);

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, options = {}) {
  const init = { ...options };
  if (init.json !== undefined) {
    init.method = init.method || "POST";
    init.body = JSON.stringify(init.json);
    init.headers = { "content-type": "application/json", ...(init.headers || {}) };
    delete init.json;
  }
  const response = await fetch(new URL(path, API), init);
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: { message: text } }; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function open(wei, digits = 4) {
  if (wei === null || wei === undefined || wei === "") return "–";
  const text = formatUnits(BigInt(wei), 18);
  const [whole, frac = ""] = text.split(".");
  const cut = frac.slice(0, digits).replace(/0+$/, "");
  return `${whole}${cut ? "." + cut : ""} OPEN`;
}

export const toWei = (text) => parseUnits(String(text || "0"), 18).toString();

export function when(seconds) {
  if (!seconds) return "–";
  return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function short(address) {
  return address ? `${address.slice(0, 8)}…${address.slice(-4)}` : "–";
}

export const addr = (a) => (a ? `<a class="mono" href="#/account/${esc(a)}" title="${esc(a)}">${esc(short(a))}</a>` : "–");
export const pill = (text) => `<span class="pill ${esc(text)}">${esc(text)}</span>`;
export const cid = (c) => (c ? `<code title="${esc(c)}">${esc(c.slice(0, 14))}…</code>` : "–");

export function facts(rows) {
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

export function table(headers, rows, id = "") {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  return `<table${id ? ` id="${id}"` : ""}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// A horizontal bar chart: [{label, value}] (negative values drawn in red, leftwards of the axis).
export function bars(items, { width = 560, unit = "" } = {}) {
  const shown = items.slice(0, 25);
  const max = Math.max(1e-12, ...shown.map((i) => Math.abs(i.value)));
  const row = 18, left = 130, plot = width - left - 70;
  const zero = shown.some((i) => i.value < 0) ? left + plot / 2 : left;
  const scale = (zero === left ? plot : plot / 2) / max;
  const rects = shown.map((item, n) => {
    const w = Math.abs(item.value) * scale, y = n * row + 4;
    const x = item.value < 0 ? zero - w : zero;
    return `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${esc(item.label)}</text>` +
      `<rect class="bar${item.value < 0 ? " neg" : ""}" x="${x}" y="${y}" width="${Math.max(w, 1)}" height="${row - 6}"/>` +
      `<text x="${Math.max(x + w, zero) + 4}" y="${y + 11}">${esc(formatValue(item.value))}${esc(unit)}</text>`;
  }).join("");
  return `<svg class="chart" role="img" width="${width}" height="${shown.length * row + 8}">${rects}</svg>`;
}

function formatValue(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}

// A step line of cumulative values over time: [{t (seconds), value}].
export function line(points, { width = 560, height = 160, label = "" } = {}) {
  if (!points.length) return `<p class="muted">nothing yet</p>`;
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const vmax = Math.max(...points.map((p) => p.value), 1e-12);
  const x = (t) => 40 + ((t - t0) / (t1 - t0)) * (width - 60);
  const y = (v) => height - 22 - (v / vmax) * (height - 40);
  let d = `M ${x(t0)} ${y(0)}`, previous = 0;
  for (const p of points) {
    d += ` L ${x(p.t)} ${y(previous)} L ${x(p.t)} ${y(p.value)}`;
    previous = p.value;
  }
  const dots = points.map((p) => `<circle cx="${x(p.t)}" cy="${y(p.value)}" r="3" fill="#2f5bd3"/>`).join("");
  return `<svg class="chart" role="img" aria-label="${esc(label)}" width="${width}" height="${height}">` +
    `<path class="line" d="${d}"/>${dots}` +
    `<text x="40" y="${height - 6}">${esc(when(t0))}</text>` +
    `<text x="${width - 20}" y="${height - 6}" text-anchor="end">${esc(when(t1))}</text>` +
    `<text x="4" y="14">${esc(label)}</text></svg>`;
}

// -- notices -------------------------------------------------------------------------------------------

export function notice(kind, message) {
  const box = document.getElementById("notice");
  box.className = kind;
  box.textContent = message;
  box.hidden = false;
  box.dataset.kind = kind;
  box.dataset.shownAt = String(Date.now());
}

export function errorText(error) {
  if (error instanceof ApiError) {
    const lines = error.body?.error?.lines;
    return lines ? `${error.message}` : error.message;
  }
  return error?.message || String(error);
}

// -- the wallet (EIP-1193) -------------------------------------------------------------------------------

export const wallet = { account: null };

export function provider() {
  if (!window.ethereum) throw new Error("no wallet found: install a browser wallet (EIP-1193) to act");
  return window.ethereum;
}

export async function connect() {
  const accounts = await provider().request({ method: "eth_requestAccounts" });
  wallet.account = getAddress(accounts[0]);
  document.getElementById("who").textContent = wallet.account;
  document.getElementById("connect").textContent = "Connected";
  return wallet.account;
}

export async function account() {
  return wallet.account || connect();
}

// Revert data hidden in a wallet's error object (wallets nest it differently).
function revertData(error) {
  for (const candidate of [error?.data, error?.data?.data, error?.error?.data, error?.info?.error?.data]) {
    if (typeof candidate === "string" && candidate.startsWith("0x") && candidate.length >= 10) return candidate;
  }
  return null;
}

async function explainWalletError(error, tx) {
  const data = revertData(error);
  if (data) {
    const { message } = await api("revert", { json: { data, contract: tx?.contract } });
    return new Error(`${tx ? tx.description + ": " : ""}${message}`);
  }
  if (error?.code === 4001) return new Error("you rejected the request in your wallet: nothing was sent");
  return new Error(error?.message || String(error));
}

// Send a plan's transactions in order, each mined before the next; returns their receipts (decoded).
export async function sendPlan(plan, progress = () => {}) {
  const ethers = new BrowserProvider(provider());
  const receipts = [];
  for (const [n, tx] of plan.txs.entries()) {
    progress(`waiting for your wallet: ${tx.description} (${n + 1}/${plan.txs.length})`);
    let hash;
    try {
      hash = await provider().request({
        method: "eth_sendTransaction",
        params: [{ from: plan.account, to: tx.to, data: tx.data, value: tx.value }],
      });
    } catch (error) {
      throw await explainWalletError(error, tx);
    }
    progress(`mining ${hash.slice(0, 12)}…: ${tx.description}`);
    await ethers.waitForTransaction(hash);
    const receipt = await minedReceipt(hash);
    if (receipt.status !== 1) throw new Error(`${tx.description}: the transaction ${hash} reverted on-chain`);
    receipts.push(receipt);
  }
  return receipts;
}

// The decoded receipt; the explorer's node may see the block a moment after the wallet's does (404
// "not_mined"): asked again a few times before giving up.
async function minedReceipt(hash, tries = 10) {
  for (let n = 1; ; n++) {
    try {
      return await api("receipt", { json: { tx_hash: hash } });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || n >= tries) throw error;
      await new Promise((r) => setTimeout(r, 500 * n));
    }
  }
}

export async function signTypedData(typed) {
  try {
    return await provider().request({
      method: "eth_signTypedData_v4",
      params: [wallet.account, JSON.stringify(typed)],
    });
  } catch (error) {
    throw await explainWalletError(error, null);
  }
}

// Wait until the indexer has processed `block` and fetched the documents its rows name (a review's
// reason, a job's metrics): pages then show the effect of a transaction whole. Documents that stay out
// for `documentsMs` after the block is indexed (content storage slow, the index's database failing) are
// not waited for longer: the page then says which are not fetched yet.
export async function indexed(block, timeoutMs = 20000, documentsMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let reached = null;
  while (Date.now() < deadline) {
    const status = await api("status");
    if (status.documents_block !== null && status.documents_block >= block) return status;
    if (status.indexed_block !== null && status.indexed_block >= block) {
      reached ??= Date.now();
      if (Date.now() - reached >= documentsMs) return status;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the indexer has not reached block ${block} yet: reload in a moment`);
}

export function event(receipts, name) {
  for (const r of receipts) for (const e of r.events) if (e.name === name) return e;
  return null;
}
