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
const pocketBase = inject("pocketBase");
const artifacts = process.env.RELAY_RESULTS_DIR ? join(process.env.RELAY_RESULTS_DIR, "patients-e2e") : resolve(import.meta.dirname, "artifacts");
const profiles: string[] = [];
const contexts: BrowserContext[] = [];
let editor: Page;
let viewer: Page;
/** What each page received while signing in: the bodies and headers of Relay's answers, and every URL it requested. */
const signInTraffic = new Map<Page, { urls: string[]; answers: Promise<string>[] }>();

async function open(email: string): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), "relay-chromium-"));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS });
  contexts.push(context);
  const page = context.pages()[0] ?? (await context.newPage());
  const traffic = { urls: [] as string[], answers: [] as Promise<string>[] };
  const onRequest = (request: { url(): string }) => traffic.urls.push(request.url());
  const onResponse = (response: { url(): string; headers(): Record<string, string>; text(): Promise<string> }) => {
    if (/\/(bff|api|realtime)\//.test(new URL(response.url()).pathname)) {
      traffic.answers.push(response.text().catch(() => "").then((body) => JSON.stringify(response.headers()) + body));
    }
  };
  page.on("request", onRequest);
  page.on("response", onResponse);
  // The first list read goes through Relay's /api proxy with the session cookie.
  const listed = page.waitForResponse((response) => new URL(response.url()).pathname === "/api/collections/patients/records", { timeout: 30_000 });
  await page.goto(app);
  await page.fill("input[name=email]", email);
  await page.click("[data-testid=login] button");
  page.on("console", (message) => { if (message.type() === "error") console.error(`[${email}] ${message.text()}`); });
  await page.waitForSelector("[data-testid=user]", { timeout: 15_000 });
  await page.waitForFunction(() => (window as any).__relay?.state === "connected");
  await page.waitForSelector("[data-testid=connection]:has-text('connected')");
  expect((await listed).status()).toBe(200);
  page.off("request", onRequest);
  page.off("response", onResponse);
  signInTraffic.set(page, traffic);
  return page;
}

/** In a page: when each patient name appears or each record disappears, by the page's clock. */
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
        if (present.has(id)) w.__duplicates = (w.__duplicates ?? 0) + 1;
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
  await watch(editor);
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
});

/** p50/p95/max of `values` (ms), as printed. */
function summary(values: number[]): { text: string; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return { text: `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted[sorted.length - 1]} ms`, p95: at(0.95) };
}

function record(line: string): void {
  console.log(line);
  if (process.env.RELAY_RESULTS_DIR) appendFileSync(join(process.env.RELAY_RESULTS_DIR, "figures.txt"), line + "\n");
}

/** A PocketBase token for `email`, fetched from PocketBase by the test (never by the page), as the browser would hold it in token mode. */
async function realToken(email: string): Promise<string> {
  const response = await fetch(`${pocketBase}/api/collections/users/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: email, password: "demo-password-1" }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

it("signs in through /bff/login and keeps every PocketBase token out of the page (cookie, storage, responses, URLs)", async () => {
  for (const [page, email] of [[editor, "editor@demo.test"], [viewer, "viewer@demo.test"]] as const) {
    const token = await realToken(email);
    const [header, , signature] = token.split(".");
    // Every PocketBase token starts with the same JWT header; the signature is this token's own. A page holding any
    // token for any user would contain the header, and this user's current one (minted in the same second) in full.
    const leaks = (text: string) => [token, signature, header].filter((part) => text.includes(part)).length + (/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.test(text) ? 1 : 0);
    expect(leaks(JSON.stringify({ token }))).toBeGreaterThan(0); // the check can see a token where one is

    const held = await page.evaluate(() => {
      const dump = (storage: Storage) => Object.fromEntries(Array.from({ length: storage.length }, (_, i) => storage.key(i)!).map((key) => [key, storage.getItem(key)]));
      return { cookie: document.cookie, local: dump(localStorage), session: dump(sessionStorage) };
    });
    expect(leaks(held.cookie), `document.cookie of ${email}`).toBe(0);
    expect(leaks(JSON.stringify(held.local)), `localStorage of ${email}`).toBe(0);
    expect(leaks(JSON.stringify(held.session)), `sessionStorage of ${email}`).toBe(0);

    const traffic = signInTraffic.get(page)!;
    expect(traffic.urls.some((url) => new URL(url).pathname === "/bff/login"), "signed in through /bff/login").toBe(true);
    expect(traffic.urls.filter((url) => !url.startsWith(new URL(app).origin)), "every call stays on Relay's origin").toEqual([]);
    expect(traffic.urls.filter((url) => /access_token|token=/i.test(url))).toEqual([]);
    const answers = await Promise.all(traffic.answers);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => leaks(answer) > 0), `Relay's answers to ${email}`).toEqual([]);

    // What the page does hold: Relay's session cookie, out of reach of scripts.
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([{ name: "relay-session", httpOnly: true, sameSite: "Strict" }]);
    expect(held.cookie).not.toContain("relay-session");
  }
});

it("shows the editor's creates, updates and deletes at once in its own page (optimistic) and in the viewer's over realtime, and measures both", async () => {
  const own: number[] = [];
  const others: number[] = [];
  // The editor's own writes come back as realtime echoes: they must not refetch its list (nor duplicate or blink a row).
  let editorListFetches = 0;
  const countListFetches = (request: { method(): string; url(): string }) => {
    if (request.method() === "GET" && new URL(request.url()).pathname === "/api/collections/patients/records") editorListFetches++;
  };
  editor.on("request", countListFetches);
  const seenIn = async (page: Page, name: string) => (await page.waitForFunction((n) => (window as any).__seen[n], name, { timeout: 5_000 })).jsonValue() as Promise<number>;
  const goneIn = async (page: Page, id: string) => (await page.waitForFunction((i) => (window as any).__gone[i], id, { timeout: 5_000 })).jsonValue() as Promise<number>;
  for (let i = 0; i < 15; i++) {
    const name = `Patient ${i} ${Date.now()}`;
    await editor.fill("[data-testid=add] input[name=name]", name);
    const created = await act(editor, `document.querySelector("[data-testid=add] button").click()`);
    own.push((await seenIn(editor, name)) - created);
    others.push((await seenIn(viewer, name)) - created);

    const id = await editor.$eval(`[data-testid=patients] li:has-text("${name}")`, (li) => li.getAttribute("data-id")!);
    // Wait for PocketBase's answer before the next write of the same record, as a user would see it settle.
    await editor.waitForFunction(() => !document.querySelector("[data-testid=error]")?.textContent);
    await editor.waitForTimeout(50);
    const renamed = await act(editor, `document.querySelector('[data-id="${id}"] [data-action=rename]').click()`);
    own.push((await seenIn(editor, `${name}*`)) - renamed);
    others.push((await seenIn(viewer, `${name}*`)) - renamed);
    expect(await editor.evaluate((i) => (window as any).__gone[i], id)).toBeUndefined(); // never blinked out

    await editor.waitForTimeout(50);
    const deleted = await act(editor, `document.querySelector('[data-id="${id}"] [data-action=delete]').click()`);
    own.push((await goneIn(editor, id)) - deleted);
    others.push((await goneIn(viewer, id)) - deleted);
  }

  editor.off("request", countListFetches);
  expect(editorListFetches).toBe(0);
  expect(await editor.evaluate(() => (window as any).__duplicates ?? 0)).toBe(0);
  const mine = summary(own);
  const theirs = summary(others);
  record(`browser (Chromium, BFF mode), own change (editor click -> editor DOM, optimistic), ${own.length} changes: ${mine.text}`);
  record(`browser (Chromium, BFF mode), others' change (editor click -> viewer DOM, realtime), ${others.length} changes: ${theirs.text}`);
  await viewer.screenshot({ path: join(artifacts, "viewer-after-changes.png") });
  expect(await editor.textContent("[data-testid=error]")).toBe("");
  expect(mine.p95).toBeLessThanOrEqual(50);
  expect(theirs.p95).toBeLessThanOrEqual(200);
});

it("rolls back in the editor a create that PocketBase refuses", async () => {
  const before = await names(editor);
  // An empty name: the form would stop it, so lift the form's check; PocketBase's required field refuses it.
  await editor.evaluate(() => {
    (window as any).__seen = {};
    document.querySelector("[data-testid=add] input[name=name]")!.removeAttribute("required");
  });
  await editor.fill("[data-testid=add] input[name=name]", "");
  await editor.click("[data-testid=add] button");
  await editor.waitForSelector("[data-testid=error]:has-text('refused')", { timeout: 10_000 });
  await editor.waitForFunction((expected) => JSON.stringify([...document.querySelectorAll("[data-testid=patients] li .name")].map((e) => e.textContent).sort()) === expected, JSON.stringify(before), { timeout: 5_000 });
  // It was shown optimistically first (an empty-named row), then taken back.
  expect(await editor.evaluate(() => (window as any).__seen[""] !== undefined)).toBe(true);
  expect(await names(viewer)).toEqual(before);
  await editor.screenshot({ path: join(artifacts, "editor-rolled-back.png") });
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

it("signs out: the hub connection stops, /bff/logout ends the session and the cookie no longer works", async () => {
  await viewer.click("[data-testid=sign-out]");
  await viewer.waitForSelector("[data-testid=login]", { timeout: 10_000 });
  expect(await viewer.evaluate(() => (window as any).__relay.state)).toBe("disconnected");
  expect(await viewer.evaluate(async () => (await fetch("/bff/user")).status)).toBe(401);
  expect(await viewer.evaluate(async () => (await fetch("/api/collections/patients/records")).json())).toMatchObject({ items: [] });
  // The editor's session is its own and carries on.
  expect(await editor.evaluate(async () => (await fetch("/bff/user")).status)).toBe(200);
});
