// The explorer's router: hash routes (#/datanets/1) so the pages work under any mount prefix.
import { api, connect, errorText, notice, wallet } from "./lib.js";
import * as pages from "./pages.js";
import { version } from "./version.js";

const ROUTES = [
  [/^#?\/?$/, () => pages.home()],
  [/^#\/datanets$/, () => pages.datanets()],
  [/^#\/datanets\/(\d+)$/, (m) => pages.datanet(m[1])],
  [/^#\/datanets\/(\d+)\/versions\/(\d+)$/, (m) => version(m[1], m[2])],
  [/^#\/contributions\/(\d+)$/, (m) => pages.contribution(m[1])],
  [/^#\/models$/, () => pages.models()],
  [/^#\/models\/(\d+)$/, (m) => pages.model(m[1])],
  [/^#\/epochs$/, () => pages.epochs()],
  [/^#\/epochs\/(\d+)\/(\d+)$/, (m) => pages.epochPage(m[1], m[2])],
  [/^#\/account$/, () => pages.accountPage()],
  [/^#\/account\/(0x[0-9a-fA-F]{40})$/, (m) => pages.accountPage(m[1])],
  [/^#\/create$/, () => pages.create()],
];

async function route() {
  const hash = location.hash || "#/";
  const main = document.getElementById("main");
  main.dataset.state = "loading";
  const started = performance.now();
  try {
    const found = ROUTES.find(([pattern]) => pattern.test(hash));
    if (!found) throw new Error(`no page at ${hash}`);
    await found[1](hash.match(found[0]));
  } catch (error) {
    main.innerHTML = `<h1>Cannot show this page</h1><p class="error" id="page-error"></p>`;
    document.getElementById("page-error").textContent = errorText(error);
    main.dataset.state = "error";
  }
  main.dataset.renderMs = String(Math.round(performance.now() - started));
}

document.getElementById("connect").addEventListener("click", async () => {
  try {
    await connect();
    if (location.hash.startsWith("#/account")) await route();
  } catch (error) {
    notice("error", errorText(error));
  }
});
window.addEventListener("hashchange", () => {
  const box = document.getElementById("notice");
  if (Date.now() - Number(box.dataset.shownAt || 0) > 1000) box.hidden = true; // keep an action's outcome
  route();
});
api("status").then((s) => {
  document.getElementById("footer").textContent =
    `chain ${s.chain_id} · indexed to block ${s.indexed_block} · API: api/openapi.json`;
}).catch(() => {});
window.__explorer = { wallet };
route();
