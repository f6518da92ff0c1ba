// The official MCP TypeScript SDK client, used as its documentation shows, against `ksearch mcp` spawned over stdio
// (StdioClientTransport) on a copy of examples/docs indexed with the tiny fixture model.  Run by CTest
// (mcp_client_test):
//   node mcp.test.mjs KSEARCH_BINARY EXAMPLE_DOCS_DIR EMBEDDING_MODEL_DIR
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";

const [binary, exampleDocs, embeddingModel] = process.argv.slice(2);

const folder = mkdtempSync(join(tmpdir(), "ksearch-mcp-"));
const docs = join(folder, "docs");
cpSync(exampleDocs, docs, { recursive: true });
const indexed = spawnSync(binary, ["index", "--model", embeddingModel, "--quiet", docs], { encoding: "utf8" });
assert.equal(indexed.status, 0, indexed.stderr);

const checks = [];
const check = (name, run) => checks.push({ name, run });

check("initialize: server info, instructions and the tools capability", async (client) => {
  assert.equal(client.getServerVersion().name, "ksearch");
  assert.ok(client.getServerCapabilities().tools);
  assert.match(client.getInstructions(), /search/);
});

check("tools/list: search, get and status with input and output schemas", async (client) => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), ["get", "search", "status"]);
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, "object");
    assert.equal(tool.outputSchema.type, "object");
  }
});

check("search: a Korean query with a particle finds its document (structured content, validated)", async (client) => {
  const result = await client.callTool({ name: "search", arguments: { query: "한강에서 가까운 다리", k: 3 } });
  assert.ok(!result.isError, JSON.stringify(result.content));
  const { results, mode } = result.structuredContent;
  assert.equal(mode, "hybrid");
  assert.ok(results.length >= 1 && results.length <= 3);
  assert.equal(results[0].path, "도시/seoul.md");
  assert.ok(results[0].line >= results[0].start_line && results[0].line <= results[0].end_line);
  assert.equal(results[0].page, null);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  const pdfs = await client.callTool({ name: "search", arguments: { query: "임대차 계약", ext: ["PDF"], mode: "lexical" } });
  assert.ok(pdfs.structuredContent.results.length > 0);
  for (const hit of pdfs.structuredContent.results) {
    assert.match(hit.path, /\.pdf$/);
    assert.ok(Number.isInteger(hit.page) && hit.page >= 1);
  }
});

check("get: a line range of a Markdown file and the text of a DOCX", async (client) => {
  const result = await client.callTool({ name: "get", arguments: { path: "도시/seoul.md", start_line: 1, end_line: 3 } });
  assert.ok(!result.isError, JSON.stringify(result.content));
  assert.equal(result.structuredContent.start_line, 1);
  assert.equal(result.structuredContent.end_line, 3);
  assert.ok(result.structuredContent.text.startsWith("# 서울특별시\n"));
  const docx = await client.callTool({ name: "get", arguments: { path: join(docs, "공지", "community_center.docx") } });
  assert.equal(docx.structuredContent.format, "docx");
  assert.ok(docx.structuredContent.text.length > 0);
});

check("status: the index's counts", async (client) => {
  const result = await client.callTool({ name: "status", arguments: {} });
  assert.ok(result.structuredContent.files > 20);
  assert.equal(result.structuredContent.root, docs);
});

check("errors: a bad argument is a tool error; an unknown tool is a JSON-RPC error", async (client) => {
  const bad = await client.callTool({ name: "search", arguments: { query: "서울", k: 0 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /k is 0/);
  const outside = await client.callTool({ name: "get", arguments: { path: "/etc/passwd" } });
  assert.equal(outside.isError, true);
  assert.match(outside.content[0].text, /outside the index root/);
  await assert.rejects(client.callTool({ name: "delete_everything", arguments: {} }), (error) => {
    assert.ok(error instanceof McpError, String(error));
    assert.equal(error.code, ErrorCode.InvalidParams);
    return true;
  });
  assert.deepEqual(await client.ping(), {});
});

let failed = 0;
const transport = new StdioClientTransport({ command: binary, args: ["mcp", "--index", docs], stderr: "inherit" });
const client = new Client({ name: "ksearch-mcp-test", version: "1.0.0" });
try {
  await client.connect(transport);
  for (const { name, run } of checks) {
    try {
      await run(client);
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}\n${error.stack}`);
    }
  }
} finally {
  await client.close();
  rmSync(folder, { recursive: true, force: true });
}
console.log(failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
process.exit(failed === 0 ? 0 : 1);
