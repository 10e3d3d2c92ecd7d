// The chat in a real browser: Debian's chromium driven by playwright-core (never a downloaded browser).
// Two pages log in, talk both ways and see each other typing; a screenshot is kept as a test artifact.
// Twice: with the default JSON parser, and with the msgpack parser (PARSER=msgpack: the page loads
// socket.io.msgpack.min.js and every Socket.IO packet is a binary frame). Then, with RECOVERY=1, a page whose
// transport is closed reconnects by itself and gets its session back with the message it missed.
// Env: SIO_EXAMPLES_DIR (the examples' build folder), CHROMIUM (default /usr/bin/chromium),
// SIO_ARTIFACTS_DIR (where chat.png goes; default the system temp folder).
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
const WAIT_MS = 10_000;

describe("the chat in chromium", { skip: SKIP, timeout: 90_000 }, () => {
  for (const parser of ["json", "msgpack"]) it(`two pages talk to each other through the C++ server (${parser} parser)`, async () => {
    const server = await startServer(`${DIR}/chat`, [], {
      name: "chat",
      env: { PORT: "0", PARSER: parser },
      portPattern: /localhost:(\d+)/,
    });
    const browser = await chromium.launch({
      executablePath: BROWSER,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-dev-shm-usage"],
      timeout: WAIT_MS,
    });
    try {
      const errors = [];
      const frames = { text: 0, binary: 0 }; // Socket.IO packets received over WebSocket (not Engine.IO pings)
      const scripts = [];
      const open = async (name) => {
        const page = await (await browser.newContext({ viewport: { width: 900, height: 600 } })).newPage();
        page.setDefaultTimeout(WAIT_MS);
        page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
        page.on("request", (r) => r.url().endsWith(".js") && scripts.push(new URL(r.url()).pathname));
        page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => {
          if (typeof payload !== "string") frames.binary++;
          else if (payload.startsWith("4")) frames.text++;
        }));
        await page.goto(`http://127.0.0.1:${server.port}/`);
        await page.fill("#login-name", name);
        await page.press("#login-name", "Enter");
        await page.waitForSelector("#chat:not([hidden])");
        return page;
      };
      const alice = await open("alice");
      const bob = await open("bob");
      await alice.waitForFunction(() => document.querySelector("#participants").textContent === "2 participants");
      await alice.waitForSelector("#messages li.log:has-text('bob joined')");

      // alice → bob
      await alice.fill("#message-input", "hello from alice");
      await alice.press("#message-input", "Enter");
      await bob.waitForSelector("#messages li.message:has-text('hello from alice')");
      // alice's own line appears when the server's ack reaches her page, independently of bob's copy.
      await alice.waitForSelector("#messages li.message:has-text('hello from alice')");
      // bob types (alice sees the indicator), then answers
      await bob.type("#message-input", "hi ali");
      await alice.waitForFunction(() => document.querySelector("#typing").textContent.includes("bob is typing"));
      await bob.fill("#message-input", "hi alice, from bob");
      await bob.press("#message-input", "Enter");
      await alice.waitForSelector("#messages li.message:has-text('hi alice, from bob')");
      await bob.waitForSelector("#messages li.message:has-text('hi alice, from bob')"); // bob's ack
      await alice.waitForFunction(() => document.querySelector("#typing").textContent === "");

      // What each page shows: both messages, in order, with their authors.
      const lines = (page) => page.$$eval("#messages li.message", (lis) =>
        lis.map((li) => `${li.querySelector(".username").textContent}: ${li.querySelector(".body").textContent}`));
      const expected = ["alice: hello from alice", "bob: hi alice, from bob"];
      assert.deepEqual(await lines(alice), expected);
      assert.deepEqual(await lines(bob), expected);
      assert.match(await bob.textContent("#status"), /^connected \((websocket|polling)\)$/);
      const bundle = parser === "msgpack" ? "/socket.io/socket.io.msgpack.min.js" : "/socket.io/socket.io.min.js";
      assert.ok(scripts.includes(bundle), `the page loaded ${bundle} (${scripts})`);
      if (parser === "msgpack") {
        assert.equal(frames.text, 0, "no text Socket.IO packet with the msgpack parser");
        assert.ok(frames.binary > 0, "binary Socket.IO packets");
      } else {
        assert.ok(frames.text > 0, "text Socket.IO packets");
      }

      const dir = process.env.SIO_ARTIFACTS_DIR || tmpdir();
      mkdirSync(dir, { recursive: true });
      await alice.screenshot({ path: join(dir, `chat-${parser}.png`) });
      console.log(`screenshot: ${join(dir, `chat-${parser}.png`)}`);

      // bob leaves: alice is told.
      await bob.context().close();
      await alice.waitForSelector("#messages li.log:has-text('bob left')");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });

  it("with RECOVERY=1, a page whose connection drops gets its session back and sees what it missed", async () => {
    const server = await startServer(`${DIR}/chat`, [], {
      name: "chat",
      env: { PORT: "0", RECOVERY: "1" },
      portPattern: /localhost:(\d+)/,
    });
    const browser = await chromium.launch({
      executablePath: BROWSER,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-dev-shm-usage"],
      timeout: WAIT_MS,
    });
    try {
      const errors = [];
      const open = async (name) => {
        const page = await (await browser.newContext({ viewport: { width: 900, height: 600 } })).newPage();
        page.setDefaultTimeout(WAIT_MS);
        page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
        await page.goto(`http://127.0.0.1:${server.port}/`);
        await page.fill("#login-name", name);
        await page.press("#login-name", "Enter");
        await page.waitForSelector("#chat:not([hidden])");
        return page;
      };
      const alice = await open("alice");
      const bob = await open("bob");
      await alice.waitForSelector("#messages li.log:has-text('bob joined')");
      await alice.fill("#message-input", "before the drop");
      await alice.press("#message-input", "Enter");
      await bob.waitForSelector("#messages li.message:has-text('before the drop')");
      const idBefore = await bob.evaluate(() => socket.id);

      // bob's transport is closed (his Wi-Fi drops); alice talks while he is away.
      await bob.evaluate(() => socket.io.engine.close());
      await bob.waitForSelector("#messages li.log:has-text('you have been disconnected')");
      await alice.fill("#message-input", "while you were away");
      await alice.press("#message-input", "Enter");
      await alice.waitForSelector("#messages li.message:has-text('while you were away')");

      // The client reconnects by itself: same socket, the missed message shown, no "bob left" for alice.
      await bob.waitForSelector("#messages li.log:has-text('session recovered')");
      await bob.waitForSelector("#messages li.message:has-text('while you were away')");
      assert.equal(await bob.evaluate(() => socket.recovered), true);
      assert.equal(await bob.evaluate(() => socket.id), idBefore);
      const lines = (page) => page.$$eval("#messages li.message", (lis) => lis.map((li) => li.querySelector(".body").textContent));
      assert.deepEqual(await lines(bob), ["before the drop", "while you were away"]);
      // Live again: bob's answer reaches alice.
      await bob.fill("#message-input", "back");
      await bob.press("#message-input", "Enter");
      await alice.waitForSelector("#messages li.message:has-text('back')");
      assert.equal(await alice.locator("#messages li.log:has-text('bob left')").count(), 0);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });
});
