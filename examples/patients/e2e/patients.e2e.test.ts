import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, it } from "vitest";

// Debian's Chromium, driven by playwright-core; no network beyond loopback.
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];
const app = inject("app");
const artifacts = process.env.RELAY_RESULTS_DIR ? join(process.env.RELAY_RESULTS_DIR, "patients-e2e") : resolve(import.meta.dirname, "artifacts");
const profiles: string[] = [];
const contexts: BrowserContext[] = [];
let editor: Page;
let viewer: Page;

async function open(email: string): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), "relay-chromium-"));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS });
  contexts.push(context);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(app);
  await page.fill("input[name=email]", email);
  await page.click("[data-testid=login] button");
  page.on("console", (message) => { if (message.type() === "error") console.error(`[${email}] ${message.text()}`); });
  await page.waitForSelector("[data-testid=user]", { timeout: 15_000 });
  await page.waitForFunction(() => (window as any).__relay?.state === "Connected");
  return page;
}

/** In the viewer: when each patient name appears or each record disappears, by the page's clock. */
async function watch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__seen = {};
    w.__gone = {};
    const known = new Map<string, string>();
    const scan = () => {
      const now = Date.now();
      const present = new Set<string>();
      for (const li of document.querySelectorAll("[data-testid=patients] li")) {
        const id = li.getAttribute("data-id")!;
        const name = li.querySelector(".name")!.textContent!;
        present.add(id);
        if (known.get(id) !== name) {
          known.set(id, name);
          w.__seen[name] ??= now;
        }
      }
      for (const id of [...known.keys()]) {
        if (!present.has(id)) {
          known.delete(id);
          w.__gone[id] ??= now;
        }
      }
    };
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true });
    scan();
  });
}

/** Runs `action` in the editor at a recorded instant; returns that instant (ms, wall clock). */
function act(page: Page, action: string): Promise<number> {
  return page.evaluate((code) => {
    const started = Date.now();
    // eslint-disable-next-line no-new-func
    new Function(code)();
    return started;
  }, action);
}

const names = (page: Page) => page.$$eval("[data-testid=patients] li .name", (els) => els.map((e) => e.textContent).sort());

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  editor = await open("editor@demo.test");
  viewer = await open("viewer@demo.test");
  await watch(viewer);
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
});

it("shows the editor's creates, updates and deletes in the viewer's page, and measures how fast", async () => {
  const latencies: number[] = [];
  for (let i = 0; i < 15; i++) {
    const name = `Patient ${i} ${Date.now()}`;
    await editor.fill("[data-testid=add] input[name=name]", name);
    const created = await act(editor, `document.querySelector("[data-testid=add] button").click()`);
    const seen = await viewer.waitForFunction((n) => (window as any).__seen[n], name, { timeout: 5_000 });
    latencies.push((await seen.jsonValue()) - created);

    const id = await editor.$eval(`[data-testid=patients] li:has-text("${name}")`, (li) => li.getAttribute("data-id")!).catch(async () => {
      await editor.waitForSelector(`[data-testid=patients] li:has-text("${name}")`);
      return editor.$eval(`[data-testid=patients] li:has-text("${name}")`, (li) => li.getAttribute("data-id")!);
    });
    const renamed = await act(editor, `document.querySelector('[data-id="${id}"] [data-action=rename]').click()`);
    const seenRename = await viewer.waitForFunction((n) => (window as any).__seen[n], `${name}*`, { timeout: 5_000 });
    latencies.push((await seenRename.jsonValue()) - renamed);

    await editor.waitForSelector(`[data-id="${id}"] .name:has-text("${name}*")`);
    const deleted = await act(editor, `document.querySelector('[data-id="${id}"] [data-action=delete]').click()`);
    const gone = await viewer.waitForFunction((i) => (window as any).__gone[i], id, { timeout: 5_000 });
    latencies.push((await gone.jsonValue()) - deleted);
  }

  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  const line = `browser (Chromium, editor click -> viewer DOM), ${latencies.length} changes: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${latencies[latencies.length - 1]} ms`;
  console.log(line);
  if (process.env.RELAY_RESULTS_DIR) appendFileSync(join(process.env.RELAY_RESULTS_DIR, "figures.txt"), line + "\n");
  await viewer.screenshot({ path: join(artifacts, "viewer-after-changes.png") });
  expect(at(0.95)).toBeLessThan(200);
});

it("removes a deleted patient from the viewer's open detail view", async () => {
  const name = `Open ${Date.now()}`;
  await editor.fill("[data-testid=add] input[name=name]", name);
  await editor.click("[data-testid=add] button");
  await viewer.click(`[data-testid=patients] li:has-text("${name}")`);
  await viewer.waitForSelector(`[data-testid=detail-name]:has-text("${name}")`);

  await editor.click(`[data-testid=patients] li:has-text("${name}") [data-action=delete]`);

  await viewer.waitForSelector("[data-testid=gone]", { timeout: 5_000 });
  await viewer.screenshot({ path: join(artifacts, "viewer-detail-deleted.png") });
});

it("converges after the viewer's connection is cut while the editor writes", async () => {
  await viewer.evaluate(() => (window as any).__relay.stop());
  for (let i = 0; i < 3; i++) {
    const name = `Offline ${i} ${Date.now()}`;
    await editor.fill("[data-testid=add] input[name=name]", name);
    await editor.click("[data-testid=add] button");
    await editor.waitForSelector(`[data-testid=patients] li:has-text("${name}")`);
  }
  const first = await editor.$eval("[data-testid=patients] li", (li) => li.getAttribute("data-id")!);
  await editor.click(`[data-id="${first}"] [data-action=delete]`);
  await editor.waitForSelector(`[data-id="${first}"]`, { state: "detached" });
  await editor.waitForTimeout(300);
  expect(await names(viewer)).not.toEqual(await names(editor));

  const back = Date.now();
  await viewer.evaluate(() => (window as any).__relay.start());
  await viewer.waitForFunction(
    (expected) => JSON.stringify([...document.querySelectorAll("[data-testid=patients] li .name")].map((e) => e.textContent).sort()) === expected,
    JSON.stringify(await names(editor)),
    { timeout: 15_000 },
  );
  console.log(`viewer converged ${Date.now() - back} ms after reconnecting`);
  await viewer.screenshot({ path: join(artifacts, "viewer-converged.png") });
  await editor.screenshot({ path: join(artifacts, "editor.png") });
});
