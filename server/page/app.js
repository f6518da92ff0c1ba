// The search page of `ksearch serve`: calls /v1/index, /v1/search and /v1/context with the key the user gives
// (kept in this tab's sessionStorage, sent only in the Authorization header).  Document text is only ever set as
// text (textContent, text nodes), never parsed as HTML.
"use strict";

const tokenKey = "ksearch-api-key";
const state = { token: sessionStorage.getItem(tokenKey) || "", results: [], selected: -1, info: null, serial: 0 };
const $ = (id) => document.getElementById(id);

class NeedsKey extends Error {}

async function call(path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, body === undefined ? { headers }
                                                        : { method: "POST", headers, body: JSON.stringify(body) });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401) {
    throw new NeedsKey(state.token ? "API 키가 맞지 않습니다." : "이 서버는 API 키가 필요합니다.");
  }
  if (!response.ok) {
    const message = data && data.error ? (typeof data.error === "string" ? data.error : data.error.message) : "";
    throw new Error(message || `HTTP ${response.status}`);
  }
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function askForKey(message) {
  $("auth-message").textContent = message;
  $("auth").hidden = false;
  $("token").focus();
}

const modeNames = { hybrid: "하이브리드", dense: "의미", lexical: "키워드" };
const reasonTexts = { no_model: "이 색인에는 임베딩 모델이 없어 키워드 검색만 됩니다" };

function applyInfo(info) {
  state.info = info;
  const unavailable = new Map();  // reason -> the modes it rules out
  for (const input of document.querySelectorAll("input[name=mode]")) {
    const mode = info.modes[input.value];
    input.disabled = !mode.available;
    input.parentElement.title = mode.available ? "" : mode.message;
    if (!mode.available) {
      const reason = reasonTexts[mode.reason] || mode.message;
      unavailable.set(reason, [...(unavailable.get(reason) || []), modeNames[input.value]]);
    }
    input.checked = input.value === info.default_mode;
  }
  $("mode-reason").textContent = [...unavailable].map(([reason, modes]) => `${modes.join(", ")}: ${reason}`)
                                                  .join(" · ");
  $("rerank-switch").hidden = !info.rerank.available;
  setStatus(`문서 ${info.files.toLocaleString("ko-KR")}개 · 조각 ${info.chunks.toLocaleString("ko-KR")}개`);
}

async function loadInfo() {
  try {
    applyInfo(await call("/v1/index"));
    $("auth").hidden = true;
    if ($("query").value.trim()) search();
  } catch (error) {
    if (error instanceof NeedsKey) askForKey(error.message);
    else setStatus(`서버에 연결할 수 없습니다: ${error.message}`, true);
  }
}

function selectedMode() {
  const checked = document.querySelector("input[name=mode]:checked");
  return checked ? checked.value : "auto";
}

function searchRequest(query) {
  const request = { query, top_k: 20, mode: selectedMode(), snippets: true };
  if (!$("rerank-switch").hidden && $("rerank").checked) request.rerank = true;
  const filter = {};
  const extensions = $("ext").value.split(",").map((text) => text.trim()).filter((text) => text);
  if (extensions.length) filter.ext = extensions;
  if ($("path").value.trim()) filter.path_glob = $("path").value.trim();
  if (Object.keys(filter).length) request.filter = filter;
  return request;
}

function where(hit) {
  const parts = [];
  if (hit.page !== null && hit.page !== undefined) parts.push(`${hit.page}쪽`);
  parts.push(hit.start_line === hit.end_line ? `${hit.start_line}행` : `${hit.start_line}–${hit.end_line}행`);
  return parts.join(" · ");
}

function renderSnippet(container, segments) {
  for (const segment of segments) {
    container.append(segment.mark ? element("mark", "", segment.text) : document.createTextNode(segment.text));
  }
}

function renderResults(response) {
  const list = $("results");
  list.replaceChildren();
  state.results = response.results;
  state.selected = -1;
  response.results.forEach((hit, index) => {
    const item = element("li", "result");
    item.tabIndex = -1;
    item.dataset.index = String(index);
    const open = element("button", "open");
    open.type = "button";
    open.append(element("span", "path", hit.path), element("span", "where", where(hit)));
    open.addEventListener("click", () => openContext(index));
    const snippet = element("p", "snippet");
    renderSnippet(snippet, hit.snippet);
    item.append(open, snippet, element("span", "score", `${response.score} ${hit.score.toFixed(3)}`));
    item.addEventListener("click", (event) => {
      if (event.target === item || event.target === snippet) select(index);
    });
    list.append(item);
  });
  const mode = modeNames[response.mode] || response.mode;
  setStatus(response.results.length ? `${response.results.length}건 · ${mode} · ${Math.round(response.took_ms)} ms`
                                    : `결과가 없습니다 · ${mode}`);
}

async function search() {
  const query = $("query").value.trim();
  if (!query || !state.info) return;
  const serial = ++state.serial;
  $("results").setAttribute("aria-busy", "true");
  try {
    const response = await call("/v1/search", searchRequest(query));
    if (serial === state.serial) renderResults(response);
  } catch (error) {
    if (serial !== state.serial) return;
    if (error instanceof NeedsKey) askForKey(error.message);
    else setStatus(`검색 실패: ${error.message}`, true);
  }
  if (serial === state.serial) $("results").setAttribute("aria-busy", "false");
}

function select(index) {
  const items = $("results").children;
  if (!items.length) return;
  state.selected = Math.max(0, Math.min(items.length - 1, index));
  for (const item of items) item.classList.toggle("selected", Number(item.dataset.index) === state.selected);
  const item = items[state.selected];
  item.querySelector(".open").focus();
  item.scrollIntoView({ block: "nearest" });
}

async function openContext(index) {
  const hit = state.results[index];
  if (!hit) return;
  select(index);
  try {
    const excerpt = await call("/v1/context",
                               { path: hit.path, start_line: hit.start_line, end_line: hit.end_line, context: 8 });
    $("context-title").textContent = hit.path;
    $("context-where").textContent = `${where(hit)} · 전체 ${excerpt.total_lines}행`;
    const lines = $("context-lines");
    lines.replaceChildren();
    let page = 0;
    let first = null;
    for (const line of excerpt.lines) {
      if (line.page && line.page !== page) {
        page = line.page;
        lines.append(element("li", "page", `${page}쪽`));
      }
      const row = element("li", line.hit ? "line hit" : "line");
      row.append(element("span", "number", String(line.number)), element("span", "text", line.text));
      if (line.hit && !first) first = row;
      lines.append(row);
    }
    const dialog = $("context");
    if (!dialog.open) dialog.showModal();
    if (first) first.scrollIntoView({ block: "center" });
    $("context-close").focus();
  } catch (error) {
    if (error instanceof NeedsKey) askForKey(error.message);
    else setStatus(`문맥을 열 수 없습니다: ${error.message}`, true);
  }
}

function typing(target) {
  return target instanceof HTMLInputElement && target.type !== "radio" && target.type !== "checkbox";
}

document.addEventListener("keydown", (event) => {
  if ($("context").open || event.ctrlKey || event.metaKey || event.altKey) return;
  const inBox = typing(event.target);
  const onRadio = event.target instanceof HTMLInputElement && event.target.type === "radio";
  if (event.key === "/" && !inBox) {
    event.preventDefault();
    $("query").focus();
    $("query").select();
  } else if (event.key === "ArrowDown" || (event.key === "j" && !inBox)) {
    if (onRadio || (inBox && event.target !== $("query"))) return;
    event.preventDefault();
    select(state.selected + 1);
  } else if (event.key === "ArrowUp" || (event.key === "k" && !inBox)) {
    if (inBox || onRadio) return;
    event.preventDefault();
    if (state.selected <= 0) $("query").focus();
    else select(state.selected - 1);
  } else if (event.key === "Enter" && !inBox && state.selected >= 0 && event.target.closest(".result")) {
    event.preventDefault();
    openContext(state.selected);
  } else if (event.key === "Escape" && !inBox) {
    $("query").focus();
  }
});

let typingTimer = 0;
$("query").addEventListener("input", () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(search, 250);
});
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typingTimer);
  search();
});
for (const input of document.querySelectorAll("input[name=mode], #rerank")) input.addEventListener("change", search);
for (const input of [$("ext"), $("path")]) input.addEventListener("change", search);
$("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem(tokenKey, state.token);
  $("token").value = "";
  loadInfo();
});
$("context-close").addEventListener("click", () => $("context").close());
$("context").addEventListener("close", () => {
  const item = $("results").children[state.selected];
  if (item) item.querySelector(".open").focus();
});

loadInfo();
