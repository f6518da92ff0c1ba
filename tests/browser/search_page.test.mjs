// The search page of `ksearch serve` in a real headless browser (Debian chromium, driven by puppeteer-core): a temp
// index of Korean documents, a server that needs an API key, and the page used as a person would.  Run by CTest
// (browser_test):
//   node search_page.test.mjs KSEARCH_BINARY EMBEDDING_MODEL_DIR RERANKER_MODEL_DIR DOCS_DIR [SCREENSHOT_DIR]
// With SCREENSHOT_DIR it saves the screenshots docs/search-page.md shows.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

import puppeteer from "puppeteer-core";

const [binary, embeddingModel, rerankerModel, docs, screenshots] = process.argv.slice(2);
const apiKey = "page-test-key";
const chromium = process.env.KSEARCH_CHROMIUM || "/usr/bin/chromium";

function buildIndex() {
  const folder = mkdtempSync(join(tmpdir(), "ksearch-page-"));
  cpSync(docs, folder, { recursive: true });
  // Text that is markup if a page ever parsed document text as HTML.
  writeFileSync(join(folder, "escape.md"), "# 표시 검사\n\n보안 점검 문서: <img src=x onerror=\"document.title='XSS'\"> 와 " +
                                           "<b>굵게</b> 는 글자로 보여야 한다.\n");
  execFileSync(binary, ["index", folder, "--model", embeddingModel], { stdio: ["ignore", "ignore", "inherit"] });
  return folder;
}

function startServer(folder, options) {
  const server = spawn(binary, ["serve", "--port", "0", "--db", join(folder, ".ksearch"), ...options],
                       { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let output = "";
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const newline = output.indexOf("\n");
      if (newline >= 0) resolve({ server, port: JSON.parse(output.slice(0, newline)).port });
    });
    server.on("exit", (code) => reject(new Error(`ksearch serve exited with ${code}`)));
  });
}

const text = (page, selector) => page.$eval(selector, (node) => node.textContent);
const resultPaths = (page) => page.$$eval("#results .path", (nodes) => nodes.map((node) => node.textContent));
const selectedIndex = (page) => page.$$eval("#results .result", (nodes) => nodes.findIndex(
    (node) => node.classList.contains("selected")));

// Types a query, presses Enter, and waits until the results of that query are on the page (not an earlier list).
async function search(page, query) {
  await page.click("#query", { clickCount: 3 });
  await page.keyboard.press("Backspace");
  await page.type("#query", query);
  const answered = page.waitForResponse((response) => response.url().endsWith("/v1/search") &&
                                                      JSON.parse(response.request().postData()).query === query);
  await page.keyboard.press("Enter");
  await answered;
  await page.waitForSelector("#results[aria-busy=false]");
}

async function waitForStatus(page, pattern) {
  await page.waitForFunction((source) => new RegExp(source).test(document.getElementById("status").textContent), {},
                             pattern.source);
}

const checks = [];
const check = (name, run) => checks.push({ name, run });

check("the page is served with its security headers and asks for the API key", async (page, url) => {
  const response = await page.goto(url);
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /default-src 'self'/);
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.equal(await page.$eval("html", (node) => node.lang), "ko");
  assert.ok(await page.$("meta[name=viewport]"));
  await page.waitForSelector("#auth:not([hidden])");
  assert.match(await text(page, "#auth-message"), /API 키/);
  await page.type("#token", "wrong-key");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /맞지 않습니다/.test(document.getElementById("auth-message").textContent));
  await page.type("#token", apiKey);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#auth", { hidden: true });
  await waitForStatus(page, /문서 34개/);
  assert.ok(!page.url().includes(apiKey), "the key never goes into the URL");
  assert.equal(await page.$eval("input[value=hybrid]", (node) => node.checked), true);
  assert.equal(await page.$eval("#rerank-switch", (node) => node.hidden), false, "a reranker is loaded");
});

check("a Korean query shows results with highlighted snippets, path, page and lines", async (page) => {
  await search(page, "전세 보증금");
  const paths = await resultPaths(page);
  assert.equal(paths[0], "공지/rental_contract.pdf", paths.join(", "));
  const marks = await page.$$eval("#results .result:first-child mark",
                                  (nodes) => nodes.map((node) => node.textContent));
  assert.ok(marks.includes("보증금"), marks.join(", "));
  assert.match(await text(page, "#results .result:first-child .where"), /1쪽 · 1–4행/);
  assert.match(await text(page, "#status"), /하이브리드/);
  if (screenshots) await page.screenshot({ path: join(screenshots, "search-page-desktop.png") });
});

check("keyboard: / focuses the box, arrows and j/k move, Enter opens the context, Esc closes it", async (page) => {
  await page.click("h1");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "query");
  await page.keyboard.press("ArrowDown");
  assert.equal(await selectedIndex(page), 0);
  await page.keyboard.press("j");
  assert.equal(await selectedIndex(page), 1);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("k");
  assert.equal(await selectedIndex(page), 1);
  await page.keyboard.press("k");
  assert.equal(await selectedIndex(page), 0);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#context[open]");
  assert.equal(await text(page, "#context-title"), "공지/rental_contract.pdf");
  const hits = await page.$$eval("#context-lines .hit .text", (nodes) => nodes.map((node) => node.textContent));
  assert.equal(hits.length, 4);
  assert.match(hits[0], /전세 계약 시 유의사항/);
  assert.match(await text(page, "#context-lines .page"), /1쪽/);
  if (screenshots) await page.screenshot({ path: join(screenshots, "search-page-context.png") });
  await page.keyboard.press("Escape");
  await page.waitForSelector("#context:not([open])");
  assert.equal(await page.evaluate(() => document.activeElement.closest(".result") !== null), true);
});

check("switching the mode searches again in that mode; filters narrow the results", async (page) => {
  await page.click("input[value=lexical]");
  await waitForStatus(page, /키워드/);
  assert.ok((await resultPaths(page)).length > 0);
  await page.click("input[value=dense]");
  await waitForStatus(page, /의미/);
  await page.type("#ext", "pdf");
  await page.keyboard.press("Tab");
  await page.waitForFunction(() => [...document.querySelectorAll("#results .path")].every(
      (node) => node.textContent.endsWith(".pdf")));
  await page.click("#ext", { clickCount: 3 });
  await page.keyboard.press("Backspace");
  await page.type("#path", "음식/**");
  await page.keyboard.press("Tab");
  await page.waitForFunction(() => [...document.querySelectorAll("#results .path")].every(
      (node) => node.textContent.startsWith("음식/")));
  await page.click("#path", { clickCount: 3 });
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Tab");
  await page.click("input[value=hybrid]");
  await waitForStatus(page, /하이브리드/);
});

check("document text is shown as text, never run as markup", async (page) => {
  await search(page, "표시 검사 굵게");
  assert.equal((await resultPaths(page))[0], "escape.md");
  assert.equal(await page.$("#results img"), null);
  assert.match(await text(page, "#results .result:first-child .snippet"), /<img src=x onerror=/);
  await page.click("#results .result:first-child .open");
  await page.waitForSelector("#context[open]");
  assert.equal(await page.$("#context img, #context b"), null);
  assert.notEqual(await page.title(), "XSS");
  await page.keyboard.press("Escape");
});

check("readable at phone width", async (page) => {
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await search(page, "서울에서 열리는 축제");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  if (screenshots) await page.screenshot({ path: join(screenshots, "search-page-phone.png") });
  await page.setViewport({ width: 1280, height: 800 });
});

// A lexical-only index with no reranker: the page offers only what the server can do.
async function checkLexicalOnly(browser) {
  const folder = mkdtempSync(join(tmpdir(), "ksearch-page-lexical-"));
  writeFileSync(join(folder, "kimchi.md"), "# 김치\n\n김치는 배추를 소금에 절여 만드는 발효 음식이다.\n");
  execFileSync(binary, ["index", folder, "--no-model"], { stdio: ["ignore", "ignore", "inherit"] });
  const { server, port } = await startServer(folder, ["--model", embeddingModel, "--no-rerank"]);
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitForStatus(page, /문서 1개/);
    const modes = await page.$$eval("input[name=mode]", (nodes) => nodes.map((node) => [node.value, node.disabled,
                                                                                           node.checked]));
    assert.deepEqual(modes, [["hybrid", true, false], ["dense", true, false], ["lexical", false, true]]);
    assert.match(await text(page, "#mode-reason"), /하이브리드, 의미: .*임베딩 모델이 없어/);
    assert.equal(await page.$eval("#rerank-switch", (node) => node.hidden), true);
    await search(page, "김치를");
    assert.deepEqual(await resultPaths(page), ["kimchi.md"]);
    assert.match(await text(page, "#status"), /키워드/);
  } finally {
    await page.close();
    server.kill("SIGTERM");
    rmSync(folder, { recursive: true, force: true });
  }
}
check("a lexical-only index without a reranker: hybrid and dense off with the reason, no rerank switch",
      async (page, url, browser) => checkLexicalOnly(browser));

const folder = buildIndex();
const { server, port } = await startServer(folder, ["--rerank-model", rerankerModel, "--api-key", apiKey]);
const url = `http://127.0.0.1:${port}/`;
// Chromium refuses its sandbox to root; a container without user namespaces has none to give either.
const asRoot = process.getuid && process.getuid() === 0;
const launch = (args) => puppeteer.launch({ executablePath: chromium, headless: true, args });
let browser;
let failed = 0;
try {
  try {
    browser = await launch(asRoot ? ["--no-sandbox"] : []);
  } catch (error) {
    if (asRoot || !/sandbox/i.test(String(error))) throw error;
    console.log("note: chromium has no usable sandbox here; running it with --no-sandbox");
    browser = await launch(["--no-sandbox"]);
  }
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // The 401s the key checks cause on purpose are logged by the browser as failed loads.
    if (message.type() === "error" && !/401/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  for (const { name, run } of checks) {
    try {
      await run(page, url, browser);
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}\n     ${error.stack ?? error}`);
    }
  }
  if (problems.length) {
    failed += 1;
    console.log(`FAIL the page logged errors (a CSP violation shows here)\n     ${problems.join("\n     ")}`);
  }
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  rmSync(folder, { recursive: true, force: true });
}
console.log(`${checks.length - failed} of ${checks.length} page checks passed`);
process.exit(failed === 0 ? 0 : 1);
