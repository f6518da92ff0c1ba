// The official client libraries, called as their documentation shows, against a `ksearch serve` on a loopback port
// with the tiny fixture models.  Run by CTest (clients_test):
//   node clients.test.mjs KSEARCH_BINARY EMBEDDING_MODEL_DIR RERANKER_MODEL_DIR
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

import OpenAI from "openai";
import { OpenAIEmbeddings } from "@langchain/openai";
import { CohereClient, CohereClientV2 } from "cohere-ai";
import { InferenceClient } from "@huggingface/inference";
import { OpenAIEmbedding } from "@llamaindex/openai";

const [binary, embeddingModel, rerankerModel] = process.argv.slice(2);
const apiKey = "client-test-key";
const modelName = "tiny-e5";
const maxBodyBytes = 65536;

function startServer() {
  const folder = mkdtempSync(join(tmpdir(), "ksearch-clients-"));
  const server = spawn(binary, ["serve", "--port", "0", "--model", embeddingModel, "--rerank-model", rerankerModel,
                                "--served-model-name", modelName, "--api-key", apiKey,
                                "--max-body-bytes", String(maxBodyBytes)],
                       { cwd: folder, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let output = "";
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const newline = output.indexOf("\n");
      if (newline >= 0) resolve({ server, folder, port: JSON.parse(output.slice(0, newline)).port });
    });
    server.on("exit", (code) => reject(new Error(`ksearch serve exited with ${code}`)));
  });
}

const checks = [];
const check = (name, run) => checks.push({ name, run });

check("openai: embeddings (base64 by default) and models", async (url) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
  const response = await client.embeddings.create({ model: modelName, input: ["서울", "부산은 항구 도시이다."] });
  assert.equal(response.data.length, 2);
  assert.equal(response.data[1].embedding.length, 64);
  assert.equal(response.model, modelName);
  const floats = await client.embeddings.create({ model: modelName, input: "서울", encoding_format: "float" });
  response.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - floats.data[0].embedding[i]) < 1e-6));
  const short = await client.embeddings.create({ model: modelName, input: "서울", dimensions: 16 });
  assert.equal(short.data[0].embedding.length, 16);
  const models = [];
  for await (const model of client.models.list()) models.push(model.id);
  assert.ok(models.includes(modelName), models.join(", "));
  assert.equal((await client.models.retrieve(modelName)).id, modelName);
});

check("openai: errors arrive as API errors with status, code and param", async (url) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
  await assert.rejects(client.embeddings.create({ model: "text-embedding-3-small", input: "x" }), (error) => {
    assert.ok(error instanceof OpenAI.NotFoundError, String(error));
    assert.equal(error.code, "model_not_found");
    assert.equal(error.param, "model");
    return true;
  });
  await assert.rejects(new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 })
                           .embeddings.create({ model: modelName, input: "x" }),
                       (error) => error instanceof OpenAI.AuthenticationError);
  // An over-limit body is read and answered 413, so the client sees the answer rather than a reset, and the
  // default retries (which repeat connection errors) do not upload it again.
  const retrying = new OpenAI({ baseURL: `${url}/v1`, apiKey });
  const started = Date.now();
  await assert.rejects(retrying.embeddings.create({ model: modelName, input: "가".repeat(maxBodyBytes) }), (error) => {
    assert.ok(error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError), String(error));
    assert.equal(error.status, 413);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

check("@langchain/openai: OpenAIEmbeddings", async (url) => {
  const embeddings = new OpenAIEmbeddings({ model: modelName, apiKey, configuration: { baseURL: `${url}/v1` } });
  const query = await embeddings.embedQuery("서울에서 가장 큰 공원");
  assert.equal(query.length, 64);
  const documents = await embeddings.embedDocuments(["서울", "부산", "대구"]);
  assert.equal(documents.length, 3);
  assert.equal(documents[2].length, 64);
});

check("@llamaindex/openai: OpenAIEmbedding", async (url) => {
  const embedding = new OpenAIEmbedding({ model: modelName, apiKey, baseURL: `${url}/v1`, maxRetries: 0 });
  const query = await embedding.getQueryEmbedding({ type: "text", text: "서울에서 가장 큰 공원" });
  assert.equal(query.length, 64);
  const texts = await embedding.getTextEmbeddings(["서울", "부산", "대구"]);
  assert.equal(texts.length, 3);
  const single = await embedding.getTextEmbedding("부산");
  single.forEach((v, i) => assert.ok(Math.abs(v - texts[1][i]) < 1e-5));
  const wrong = new OpenAIEmbedding({ model: "text-embedding-3-small", apiKey, baseURL: `${url}/v1`, maxRetries: 0 });
  await assert.rejects(wrong.getTextEmbedding("서울"), (error) => error.status === 404);
});

check("cohere-ai: rerank v2 and v1", async (url) => {
  const documents = ["부산은 항구 도시이다.", "서울은 대한민국의 수도이다.", "김치는 발효 음식이다."];
  const v2 = new CohereClientV2({ token: apiKey, environment: url });
  const ranked = await v2.rerank({ model: rerankerModel, query: "대한민국의 수도", documents, topN: 2 });
  assert.equal(ranked.results.length, 2);
  assert.ok(ranked.results[0].relevanceScore >= ranked.results[1].relevanceScore);
  const v1 = new CohereClient({ token: apiKey, environment: url });
  const old = await v1.rerank({ model: rerankerModel, query: "대한민국의 수도", documents, returnDocuments: true });
  assert.equal(old.results.length, 3);
  assert.equal(old.results[0].index, ranked.results[0].index);
  assert.equal(old.results[0].document.text, documents[old.results[0].index]);
});

check("@huggingface/inference: featureExtraction and sentenceSimilarity on the endpoint (POST /)", async (url) => {
  const client = new InferenceClient(apiKey).endpoint(url);
  const vector = await client.featureExtraction({ inputs: "서울" });
  assert.equal(vector.length, 1);
  assert.equal(vector[0].length, 64);
  const many = await client.featureExtraction({ inputs: ["서울", "부산"] });
  assert.equal(many.length, 2);
  const similarity = await client.sentenceSimilarity({ inputs: { source_sentence: "서울", sentences: ["서울", "부산"] } });
  assert.equal(similarity.length, 2);
  assert.ok(Math.abs(similarity[0] - 1) < 1e-5 && similarity[1] < similarity[0]);
  // TEI's error shape: the client shows the server's message.
  await assert.rejects(client.featureExtraction({ inputs: [] }), (error) => /'inputs' is empty/.test(error.message));
});

const { server, folder, port } = await startServer();
const url = `http://127.0.0.1:${port}`;
let failed = 0;
try {
  for (const { name, run } of checks) {
    try {
      await run(url);
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}\n     ${error.stack ?? error}`);
    }
  }
} finally {
  server.kill("SIGTERM");
  rmSync(folder, { recursive: true, force: true });
}
console.log(`${checks.length - failed} of ${checks.length} client checks passed`);
process.exit(failed === 0 ? 0 : 1);
