// The Sextant console: the public REST API and its SSE stream, with the user's API key.
// No framework and nothing fetched from elsewhere; data is written as text, never HTML.

const $ = (id) => document.getElementById(id);
const KEY = "sextant-api-key";
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
let following = null; // the AbortController of the stream being read
let thread = null; // the conversation of the analysis shown
let listing = { status: "", cursor: null };

function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

class ApiError extends Error {
  constructor(status, message) {
    super(`${status}: ${message}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch (_) { /* not a problem document */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

const json = async (path, options) => (await api(path, options)).json();

function post(path, body) {
  return json(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// --- the API key -----------------------------------------------------------------
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("api-key").value.trim());
  $("key-state").textContent = "key set for this tab";
  loadDatasets(null);
});

// --- views -----------------------------------------------------------------------
function show(view) {
  const ask = view === "ask";
  $("ask-view").hidden = !ask;
  $("analyses-view").hidden = ask;
  $("tab-ask").setAttribute("aria-pressed", String(ask));
  $("tab-analyses").setAttribute("aria-pressed", String(!ask));
  if (!ask) loadAnalyses(listing.status, null);
}
$("tab-ask").addEventListener("click", () => show("ask"));
$("tab-analyses").addEventListener("click", () => show("analyses"));

// --- asking ----------------------------------------------------------------------
const zone = $("drop-zone");
zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  if (event.dataTransfer.files.length) {
    $("dataset-file").files = event.dataTransfer.files;
    $("dataset-state").textContent = `ready: ${event.dataTransfer.files[0].name}`;
  }
});

function mediaType(file) {
  if (file.type === "application/json" || file.name.endsWith(".json")) return "application/json";
  return "text/csv";
}

// The tenant's datasets, newest first, by the name they were uploaded with.
async function loadDatasets(selected) {
  const pick = $("dataset-pick");
  try {
    const page = await json("/v1/datasets?limit=50");
    pick.replaceChildren(element("option", "(choose)", { value: "" }), ...page.items.map((dataset) => {
      const shape = dataset.rows === null ? "" : `, ${dataset.rows} rows, ${dataset.columns} columns`;
      const when = dataset.created_at.slice(0, 16).replace("T", " ");
      const label = `${dataset.name || dataset.dataset_id.slice(0, 8)}${shape} (${when})`;
      return element("option", label, { value: dataset.dataset_id });
    }));
    pick.value = selected || "";
  } catch (error) {
    $("dataset-state").textContent = error.message;
  }
}

$("dataset-pick").addEventListener("change", () => {
  $("dataset-id").value = $("dataset-pick").value;
  $("dataset-file").value = "";
  $("dataset-state").textContent = "";
});

async function uploadDataset() {
  const file = $("dataset-file").files[0];
  if (!file) return $("dataset-id").value.trim() || $("dataset-pick").value;
  const name = encodeURIComponent(file.name.slice(0, 255));
  const stored = await json(`/v1/datasets?name=${name}`, {
    method: "POST",
    headers: { "Content-Type": mediaType(file) },
    body: file,
  });
  $("dataset-id").value = stored.dataset_id;
  $("dataset-file").value = "";
  $("dataset-state").textContent = `uploaded: ${stored.rows} rows, ${stored.columns} columns`;
  loadDatasets(stored.dataset_id);
  return stored.dataset_id;
}

function documents() {
  return $("documents").value.split("\n").map((line) => line.trim()).filter(Boolean)
    .map((line, index) => {
      const [title, ...text] = line.split("=");
      return { document_id: `doc-${index + 1}`, title: title.trim(), text: text.join("=").trim() || title };
    });
}

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("ask-error").textContent = "";
  $("ask-button").disabled = true;
  try {
    const datasetId = await uploadDataset();
    if (!datasetId) throw new Error("choose a dataset file, pick one uploaded before, or give its id");
    const body = { question: $("question").value, dataset_id: datasetId, documents: documents() };
    if ($("clarify").checked) body.options = { clarify: true };
    // Each question asked here starts a conversation, so that it can be followed up.
    const started = await post("/v1/threads", {});
    const accepted = await post(`/v1/threads/${started.thread_id}/analyses`, body);
    open(accepted.analysis_id, started.thread_id);
  } catch (error) {
    $("ask-error").textContent = error.message;
  } finally {
    $("ask-button").disabled = false;
  }
});

// --- following one analysis --------------------------------------------------------
function open(analysisId, threadId = null) {
  if (following) following.abort();
  show("ask");
  showThread(threadId, analysisId);
  $("run").hidden = false;
  $("run-id").textContent = analysisId;
  $("run-status").textContent = "accepted";
  $("stream-state").textContent = "";
  for (const id of ["progress", "findings", "charts", "calls", "citations"]) $(id).replaceChildren();
  $("answer").textContent = "";
  $("failure").textContent = "";
  $("result").hidden = true;
  $("interrupt").hidden = true;
  $("cancel-button").hidden = false;
  follow(analysisId);
}

function parseFrame(block) {
  const frame = { id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (name === "data") frame.data.push(value);
    else if (name === "id") frame.id = value;
    else if (name === "event") frame.event = value;
  }
  return frame.data.length ? { ...frame, data: JSON.parse(frame.data.join("\n")) } : null;
}

// EventSource cannot send the API key, so the stream is read with fetch; a dropped
// connection (the network, a restarted ingress, a 5xx) is resumed with Last-Event-ID, as
// EventSource would, so nothing is shown twice or missed. A 4xx is final: it is said.
const RETRIES = 30;

async function follow(analysisId) {
  const controller = new AbortController();
  following = controller;
  let lastId = null;
  let resumed = 0;
  for (let attempt = 0; attempt < RETRIES && !controller.signal.aborted; attempt += 1) {
    try {
      const headers = lastId === null ? {} : { "Last-Event-ID": lastId };
      const response = await api(`/v1/analyses/${analysisId}/events`, { headers, signal: controller.signal });
      if (attempt > 0 || resumed > 0) {
        resumed += 1;
        $("stream-state").textContent = lastId === null
          ? `stream reconnected (${resumed}×)`
          : `stream resumed after event ${lastId} (${resumed}×)`;
      }
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll("\r\n", "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!frame) continue;
          if (frame.id !== null) lastId = frame.id;
          if (await onEvent(analysisId, frame)) return;
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) { $("failure").textContent = error.message; return; }
    }
    if (controller.signal.aborted) return;
    $("stream-state").textContent = "connection lost: reconnecting…";
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 8000)));
  }
  $("stream-state").textContent = "connection lost: reload the analysis from the list to follow it again";
}

async function onEvent(analysisId, frame) {
  const payload = frame.data.payload || {};
  if (frame.event === "progress") {
    $("run-status").textContent = "running";
    const item = element("li", payload.message || `${payload.step} ${payload.status}`);
    item.className = payload.status;
    if (frame.id !== null) item.dataset.eventId = frame.id;
    $("progress").append(item);
    return false;
  }
  if (frame.event === "interrupted") {
    $("run-status").textContent = "interrupted";
    showInterrupt(analysisId, payload);
    return false;
  }
  if (TERMINAL.has(frame.event)) {
    $("interrupt").hidden = true;
    await showResult(analysisId);
    return true;
  }
  return false;
}

// --- conversations (threads) --------------------------------------------------------
// The turns asked before the analysis shown, each a link to it; a follow-up asked below
// is about the same data and sees them.
async function showThread(threadId, analysisId) {
  thread = threadId;
  $("thread").hidden = true;
  $("turns").replaceChildren();
  $("follow-up-form").hidden = !threadId;
  if (!threadId) return;
  try {
    const asked = (await json(`/v1/threads/${threadId}`)).analyses;
    const at = asked.findIndex((analysis) => analysis.analysis_id === analysisId);
    const earlier = at < 0 ? asked : asked.slice(0, at);
    if (thread !== threadId) return; // another analysis was opened meanwhile
    $("turns").replaceChildren(...earlier.map((analysis) => {
      const item = element("li");
      const link = element("a", analysis.question, { href: "#" });
      link.addEventListener("click", (event) => { event.preventDefault(); open(analysis.analysis_id, threadId); });
      item.append(link, ` - ${analysis.answer || analysis.status}`);
      return item;
    }));
    $("thread").hidden = earlier.length === 0;
  } catch (error) {
    $("follow-up-error").textContent = error.message;
  }
}

$("follow-up-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("follow-up-error").textContent = "";
  $("follow-up-button").disabled = true;
  try {
    const accepted = await post(`/v1/threads/${thread}/analyses`, { question: $("follow-up").value });
    $("follow-up").value = "";
    open(accepted.analysis_id, thread);
  } catch (error) {
    $("follow-up-error").textContent = error.message;
  } finally {
    $("follow-up-button").disabled = false;
  }
});

// --- answering an interrupt ---------------------------------------------------------
function showInterrupt(analysisId, asked) {
  $("interrupt").hidden = false;
  $("interrupt-prompt").textContent = asked.prompt;
  $("interrupt-error").textContent = "";
  const options = $("interrupt-options");
  options.replaceChildren();
  const answer = async (response) => {
    try {
      await post(`/v1/analyses/${analysisId}/resume`, { interrupt_id: asked.interrupt_id, response });
      $("interrupt").hidden = true;
      $("run-status").textContent = "running";
    } catch (error) {
      $("interrupt-error").textContent = error.message;
    }
  };
  if (asked.kind === "approval") {
    const note = element("input", null, { type: "text", id: "approval-note", "aria-label": "Why (optional)" });
    const approve = element("button", "Approve", { type: "button" });
    const decline = element("button", "Decline", { type: "button" });
    approve.addEventListener("click", () => answer({ approved: true, note: note.value }));
    decline.addEventListener("click", () => answer({ approved: false, note: note.value }));
    options.append(note, approve, decline);
  } else if (asked.options && asked.options.length) {
    for (const option of asked.options) {
      const button = element("button", option, { type: "button", "data-choice": option });
      button.addEventListener("click", () => answer({ choice: option }));
      options.append(button);
    }
  } else {
    const input = element("input", null, { type: "text", "aria-label": "Your answer" });
    const send = element("button", "Answer", { type: "button" });
    send.addEventListener("click", () => answer({ choice: input.value }));
    options.append(input, send);
  }
}

$("cancel-button").addEventListener("click", async () => {
  try {
    await post(`/v1/analyses/${$("run-id").textContent}/cancel`, { reason: "cancelled from the console" });
    $("run-status").textContent = "cancelling";
  } catch (error) {
    $("failure").textContent = error.message;
  }
});

// --- the result --------------------------------------------------------------------
function callLink(callId) {
  const link = element("a", callId, { href: `#call-${callId}` });
  link.addEventListener("click", () => { const call = $(`call-${callId}`); if (call) call.open = true; });
  return link;
}

function withCallLinks(text) {
  // "east leads [T1]" -> text and links to the tool call behind each figure
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/\[(T\d+)\]/g)) {
    parts.push(document.createTextNode(text.slice(last, match.index)), "[", callLink(match[1]), "]");
    last = match.index + match[0].length;
  }
  parts.push(document.createTextNode(text.slice(last)));
  return parts;
}

async function chartFigure(analysisId, chart) {
  const figure = element("figure", null, { class: "chart", id: `chart-${chart.chart_id}` });
  const svg = await (await api(`/v1/analyses/${analysisId}/charts/${chart.chart_id}.svg`)).text();
  const parsed = new DOMParser().parseFromString(svg, "image/svg+xml");
  parsed.querySelectorAll("script, foreignObject").forEach((node) => node.remove());
  const drawing = document.importNode(parsed.documentElement, true);
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-label", chart.title);
  const caption = element("figcaption", `${chart.chart_id}: ${chart.title}, from tool call `);
  caption.append(callLink(chart.call_id));
  figure.append(drawing, caption);
  return figure;
}

async function showResult(analysisId) {
  following = null;
  const analysis = await json(`/v1/analyses/${analysisId}`);
  if (analysis.thread_id !== thread) showThread(analysis.thread_id || null, analysisId);
  $("run-status").textContent = analysis.status;
  $("cancel-button").hidden = TERMINAL.has(analysis.status);
  $("result").hidden = false;
  $("answer").replaceChildren(...withCallLinks(analysis.answer || ""));
  const unverified = [...(analysis.ungrounded_numbers || []), ...(analysis.ungrounded_values || [])];
  $("ungrounded").hidden = unverified.length === 0;
  $("ungrounded").textContent = `Unverified (in no tool result or document): ${unverified.join(", ")}`;
  $("findings").replaceChildren(...(analysis.findings || []).map((finding) => {
    const item = element("li", `${finding.statement} (`);
    item.append(callLink(finding.call_id), ")");
    return item;
  }));
  $("calls").replaceChildren(...(analysis.tool_calls || []).map((call) => {
    const details = element("details", null, { id: `call-${call.call_id}` });
    details.append(
      element("summary", `${call.call_id} ${call.tool_name}`),
      element("h4", "Arguments"),
      element("pre", JSON.stringify(call.arguments, null, 2), { class: "arguments" }),
      element("h4", call.error ? "Error" : "Result"),
      element("pre", call.error || JSON.stringify(call.result, null, 2), { class: "result" }),
    );
    return details;
  }));
  $("citations").replaceChildren(...(analysis.citations || []).map(
    (c) => element("li", `${c.marker} ${c.kind} ${c.source_id}: ${c.excerpt}`),
  ));
  $("charts").replaceChildren(...await Promise.all(
    (analysis.charts || []).map((chart) => chartFigure(analysisId, chart)),
  ));
  if (analysis.error) $("failure").textContent = `${analysis.error.code}: ${analysis.error.reason}`;
}

// --- the analyses list ---------------------------------------------------------------
let listingsAsked = 0; // only the latest listing asked for is shown

async function loadAnalyses(status, cursor) {
  listing = { status, cursor };
  const asked = ++listingsAsked;
  const query = new URLSearchParams({ limit: "20" });
  if (status) query.set("status", status);
  if (cursor) query.set("cursor", cursor);
  try {
    const page = await json(`/v1/analyses?${query}`);
    if (asked !== listingsAsked) return;
    $("analyses-rows").replaceChildren(...page.items.map((analysis) => {
      const row = element("tr");
      const id = element("td");
      const link = element("a", analysis.analysis_id.slice(0, 8), { href: "#", "aria-label": `open ${analysis.analysis_id}` });
      link.addEventListener("click", (event) => { event.preventDefault(); open(analysis.analysis_id); });
      id.append(link);
      row.append(id, element("td", analysis.status), element("td", analysis.question), element("td", analysis.created_at));
      return row;
    }));
    const codes = {};
    for (const analysis of page.items) {
      if (analysis.status === "failed" && analysis.error) codes[analysis.error.code] = (codes[analysis.error.code] || 0) + 1;
    }
    $("failure-codes").replaceChildren(...Object.entries(codes).map(([code, count]) => element("li", `${code}: ${count}`)));
    $("next-page").hidden = !page.next_cursor;
    $("next-page").onclick = () => loadAnalyses(status, page.next_cursor);
  } catch (error) {
    $("failure-codes").replaceChildren(element("li", error.message, { class: "error" }));
  }
}

$("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadAnalyses($("status-filter").value, null);
});

$("letters-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const topic = $("letters-topic").value;
  try {
    const page = await json(`/v1/dead-letters?${new URLSearchParams({ topic, limit: "20" })}`);
    $("letters-rows").replaceChildren(...page.items.map((letter) => {
      const row = element("tr");
      const why = element("td", `${letter.error_type}: ${letter.error_message}`);
      why.append(element("pre", letter.original));
      row.append(element("td", `${letter.topic} [${letter.partition}] @${letter.offset}`), why, element("td", letter.failed_at));
      return row;
    }));
    if (!page.items.length) $("letters-rows").replaceChildren(element("tr", "none"));
  } catch (error) {
    $("letters-rows").replaceChildren(element("tr", error.message, { class: "error" }));
  }
});

if (apiKey()) $("key-state").textContent = "key set for this tab";
