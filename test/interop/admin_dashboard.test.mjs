// The official Admin UI, served by sio itself (examples/chat with ADMIN_INSECURE_NO_AUTH=1, at /admin/), in
// Debian's chromium driven by playwright-core: the connection settings are pre-set in localStorage (as the
// UI reads them at start-up, so no form is typed), the dashboard lists the sockets of a running chat with
// two browser users, an operator disconnects one of them from the UI, and that user's page sees
// `io server disconnect`; the Rooms view lists the chat's room. A screenshot of the dashboard is kept as a
// test artifact.
// Env: SIO_EXAMPLES_DIR (the examples' build folder), CHROMIUM (default /usr/bin/chromium),
// SIO_ARTIFACTS_DIR (where admin-dashboard.png goes; default the system temp folder).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "./support/server.mjs";

const DIR = process.env.SIO_EXAMPLES_DIR;
const BROWSER = process.env.CHROMIUM || "/usr/bin/chromium";
const SKIP = !DIR ? "SIO_EXAMPLES_DIR is not set" : !existsSync(BROWSER) ? `${BROWSER} not found (apt-get install chromium)` : false;
const WAIT_MS = 15_000;

describe("the Admin UI served by sio, in chromium", { skip: SKIP, timeout: 120_000 }, () => {
  it("lists the chat's sockets and disconnects one user from the UI", async () => {
    const server = await startServer(`${DIR}/chat`, [], {
      name: "chat",
      env: { PORT: "0", ADMIN_INSECURE_NO_AUTH: "1" },
      portPattern: /localhost:(\d+)/,
    });
    const origin = `http://127.0.0.1:${server.port}`;
    const browser = await chromium.launch({
      executablePath: BROWSER,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-dev-shm-usage"],
      timeout: WAIT_MS,
    });
    try {
      const errors = [];
      const newPage = async (name, width = 900) => {
        const page = await (await browser.newContext({ viewport: { width, height: 700 } })).newPage();
        page.setDefaultTimeout(WAIT_MS);
        page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
        return page;
      };
      const login = async (name) => {
        const page = await newPage(name);
        await page.goto(`${origin}/`);
        await page.fill("#login-name", name);
        await page.press("#login-name", "Enter");
        await page.waitForSelector("#chat:not([hidden])");
        return page;
      };
      const alice = await login("alice");
      const bob = await login("bob");
      await alice.waitForFunction(() => document.querySelector("#participants").textContent === "2 participants");
      const ids = {
        alice: await alice.evaluate(() => socket.id), // eslint-disable-line no-undef
        bob: await bob.evaluate(() => socket.id), // eslint-disable-line no-undef
      };

      // The dashboard, its connection settings pre-set as the UI's connection form would save them.
      const dashboard = await newPage("dashboard", 1400);
      await dashboard.addInitScript((url) => {
        localStorage.setItem("server_url", url);
        localStorage.setItem("namespace", "/admin");
        localStorage.setItem("path", "/socket.io");
        localStorage.setItem("parser", "default");
        localStorage.setItem("ws_only", "false");
      }, origin);
      const response = await dashboard.goto(`${origin}/admin/#/sockets`);
      assert.equal(response.status(), 200);
      assert.equal((await dashboard.request.get(`${origin}/admin/LICENSE`)).status(), 200);
      const row = (id) => dashboard.locator("tr", { hasText: id });
      await row(ids.alice).waitFor();
      await row(ids.bob).waitFor();

      // The Rooms view lists the room both users joined (rooms named by a socket id are hidden by default).
      await dashboard.evaluate(() => { location.hash = "#/rooms/"; });
      await dashboard.locator("td", { hasText: /^\s*users\s*$/ }).first().waitFor();
      await dashboard.evaluate(() => { location.hash = "#/sockets/"; });
      await row(ids.bob).waitFor();

      // Disconnect bob's socket (the row's "disconnect this socket" button; the click also opens the
      // socket's details, as a click on its row does).
      await row(ids.bob).locator("button:has(.mdi-logout)").click();
      await bob.waitForFunction(() => document.querySelector("#status").textContent === "disconnected (io server disconnect)");
      await dashboard.locator("tr", { hasText: "Status" }).filter({ hasText: "disconnected" }).waitFor();
      await dashboard.evaluate(() => { location.hash = "#/sockets"; });
      await row(ids.alice).waitFor();
      await row(ids.bob).waitFor({ state: "detached" });
      assert.equal(await row(ids.alice).count(), 1, "alice is still listed");
      assert.equal(await alice.textContent("#status").then((s) => s.startsWith("connected")), true);

      const dir = process.env.SIO_ARTIFACTS_DIR || tmpdir();
      mkdirSync(dir, { recursive: true });
      await dashboard.screenshot({ path: join(dir, "admin-dashboard.png"), fullPage: true });
      console.log(`screenshot: ${join(dir, "admin-dashboard.png")}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });
});
