// The augnet-mock inbox: a client of the /_mock control API and its SSE stream.
// Every value from the server is rendered with textContent or DOM attributes, never
// as HTML, so a message body holding markup or script shows as plain text.
"use strict";

(() => {
  const PAGE = 100; // rows a page of the list brings; "Load older" adds one more
  const MAX_PAGE = 1000; // the largest page the control API serves
  const MAX_REJECTED = 20;
  // 3GPP TS 23.038 extension table: these cost two septets each in GSM-7.
  const GSM_EXTENSION = /[\f^{}\\[~\]|€]/;

  const state = {
    filter: "",
    projects: [],
    rows: new Map(), // sid -> <li>
    keep: PAGE, // rows the list holds: live rows push the oldest out past this
    cursor: null, // nextCursor of the last page loaded (newest first): older rows
    stale: false, // rows were pushed out, so `cursor` no longer joins on: reload instead
    selected: null,
    detailTimer: 0,
    refreshTimer: 0,
    everConnected: false,
    loadSeq: 0,
    buffer: null, // events that arrive while the list loads, replayed after it renders
  };

  const $ = (id) => document.getElementById(id);

  // Opened as /?token=<admin token>: the server has set the cookie the page's requests
  // carry from now on, so take the token out of the address bar and the history.
  if (new URLSearchParams(location.search).has("token")) {
    history.replaceState(null, "", location.pathname + location.hash);
  }

  // Build an element; `props` sets properties (text, className, ...) or attributes (a-*).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role"
               || key === "datetime" || key === "title" || key === "type" || key === "scope") {
        node.setAttribute(key, String(value));
      } else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiFailure extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function call(method, path, body, headers) {
    const init = { method, headers: { Accept: "application/json", ...(headers || {}) } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiFailure(0, "no answer from the server (connection closed)");
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.message ? data.message : response.statusText;
      throw new ApiFailure(response.status, message);
    }
    return data;
  }

  // Every item of a paged list route (projects, scenarios: short lists), page by page.
  async function listAll(path, key) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < 100; page += 1) {
      const data = await call("GET", `${path}${query({ limit: String(MAX_PAGE), cursor })}`);
      items.push(...data[key]);
      cursor = data.nextCursor;
      if (!cursor) break;
    }
    return items;
  }

  function say(id, text, isError) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
    node.setAttribute("role", isError ? "alert" : "status");
  }

  function failureText(err) {
    return err.status ? `${err.status}: ${err.message}` : err.message;
  }

  function clockTime(iso) {
    // The ISO string's own time of day (UTC), so the page matches the API's records.
    return iso ? iso.slice(11, 23) : "";
  }

  function timeEl(iso) {
    return el("time", { datetime: iso, title: iso, text: clockTime(iso) });
  }

  function badge(status) {
    return el("span", { class: `badge status-${status}`, text: status });
  }

  function matchesFilter(projectId) {
    return !state.filter || projectId === state.filter;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  // -- message list -------------------------------------------------------------

  function unitName(encoding) {
    return encoding === "GSM-7" ? "septets" : "UTF-16 units";
  }

  function apiName(api) {
    // REST and SMPP are the provider's two APIs; the mock's own sources keep their names.
    return { rest: "REST", smpp: "SMPP" }[api] || api;
  }

  function rowFor(m) {
    const li = el("li", { class: "row-item", "data-sid": m.sid, "data-steps": m.timeline.length });
    const button = el(
      "button",
      { type: "button", class: "row", "aria-controls": "detail" },
      el("span", { class: "row-top" },
        el("span", { class: "to", text: m.to }), badge(m.status)),
      el("span", { class: "row-meta" },
        el("span", { text: `from ${m.from}` }),
        el("span", { text: `${m.segments} ${m.segments === 1 ? "part" : "parts"} · ${m.encoding}` }),
        el("span", { class: `api api-${m.api}`, text: apiName(m.api) }),
        timeEl(m.createdAt)),
      el("span", { class: "preview", text: m.body }),
    );
    button.addEventListener("click", () => openMessage(m.sid, true));
    li.append(button);
    if (m.sid === state.selected) button.setAttribute("aria-current", "true");
    return li;
  }

  function updateCount() {
    const shown = state.rows.size;
    const older = state.cursor !== null || state.stale;
    $("count").textContent = older ? `(newest ${shown})` : `(${shown})`;
    $("empty").hidden = shown > 0;
    $("older").hidden = !older;
  }

  function addRow(m) {
    if (state.rows.has(m.sid)) return;
    const li = rowFor(m);
    $("messages").prepend(li);
    state.rows.set(m.sid, li);
    while (state.rows.size > state.keep) {
      const last = $("messages").lastElementChild;
      state.rows.delete(last.dataset.sid);
      last.remove();
      state.stale = true;
    }
    updateCount();
  }

  function appendRows(messages) {
    const list = $("messages");
    for (const m of messages) {
      if (state.rows.has(m.sid)) continue;
      const li = rowFor(m);
      list.append(li);
      state.rows.set(m.sid, li);
    }
  }

  // Pages of the list, newest first, until `count` rows or the oldest message.
  async function fetchNewest(count, cursor) {
    const messages = [];
    let next = cursor;
    for (let page = 0; page < 100 && messages.length < count; page += 1) {
      const limit = Math.min(MAX_PAGE, count - messages.length);
      const data = await call("GET", `/_mock/messages${query({
        projectId: state.filter, order: "newest", limit: String(limit), cursor: next })}`);
      messages.push(...data.messages);
      next = data.nextCursor;
      if (next === null) break;
    }
    return { messages, cursor: next };
  }

  async function loadOlder() {
    const button = $("older");
    button.disabled = true;
    try {
      if (state.stale) {
        state.keep = state.rows.size + PAGE;
        await loadMessages();
      } else {
        const seq = state.loadSeq;
        const data = await fetchNewest(PAGE, state.cursor);
        if (seq !== state.loadSeq) return; // the list was reloaded meanwhile
        state.keep += PAGE;
        appendRows(data.messages);
        state.cursor = data.cursor;
        updateCount();
      }
    } catch (err) {
      say("live", failureText(err), true);
    } finally {
      button.disabled = false;
    }
  }

  function updateRow(m) {
    const li = state.rows.get(m.sid);
    // Events can overtake a list snapshot: never step a row back to an older status.
    if (!li || m.timeline.length < Number(li.dataset.steps)) return;
    li.dataset.steps = String(m.timeline.length);
    const old = li.querySelector(".badge");
    old.replaceWith(badge(m.status));
  }

  async function loadMessages() {
    const seq = ++state.loadSeq;
    if (!state.buffer) state.buffer = [];
    let data;
    try {
      data = await fetchNewest(state.keep, null);
    } catch (err) {
      if (seq === state.loadSeq) state.buffer = null;
      throw err;
    }
    if (seq !== state.loadSeq) return; // a newer load (another filter) is on its way
    const buffered = state.buffer;
    state.buffer = null;
    const list = $("messages");
    list.replaceChildren();
    state.rows.clear();
    appendRows(data.messages); // asked newest first, as the inbox shows them
    state.cursor = data.cursor;
    state.stale = false;
    updateCount();
    for (const [kind, m] of buffered) {
      if (kind === "message") {
        if (matchesFilter(m.projectId)) addRow(m);
      } else updateRow(m);
    }
  }

  function markSelected() {
    for (const [sid, li] of state.rows) {
      const button = li.firstElementChild;
      if (sid === state.selected) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  // -- message detail -----------------------------------------------------------

  async function openMessage(sid, focus) {
    state.selected = sid;
    markSelected();
    if (location.hash !== `#${sid}`) history.replaceState(null, "", `#${sid}`);
    try {
      renderDetail(await call("GET", `/_mock/messages/${encodeURIComponent(sid)}`));
    } catch (err) {
      renderMissing(sid, err);
    }
    if (focus) {
      const heading = $("detail-title");
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: "nearest" });
    }
  }

  function refreshDetailSoon(sid) {
    if (sid !== state.selected) return;
    clearTimeout(state.detailTimer);
    state.detailTimer = setTimeout(() => {
      if (state.selected === sid) {
        call("GET", `/_mock/messages/${encodeURIComponent(sid)}`).then(renderDetail, () => {});
      }
    }, 80);
  }

  function renderMissing(sid, err) {
    $("detail-title").textContent = "Message";
    $("detail-body").replaceChildren(
      el("p", { class: "empty", text: `Message ${sid} is gone (${failureText(err)}).` }));
  }

  function closeDetail() {
    state.selected = null;
    markSelected();
    history.replaceState(null, "", location.pathname);
    $("detail-title").textContent = "Message";
    $("detail-body").replaceChildren(el("p", {
      class: "empty",
      text: "Select a message to see its senders, segments, status timeline and callback attempts.",
    }));
  }

  function field(name, ...value) {
    return [el("dt", { text: name }), el("dd", {}, ...value)];
  }

  function senderNote(m) {
    if (m.requestedFrom === null) return "none requested: the project's fallback sender";
    if (m.requestedFrom === m.from) return "whitelisted: sent as requested";
    return "not on the project's whitelist: the fallback sender";
  }

  function renderDetail(m) {
    if (m.sid !== state.selected) return;
    $("detail-title").textContent = `Message to ${m.to}`;
    const back = el("a", { href: "#messages-title", class: "back", text: "Back to messages" });
    back.addEventListener("click", (event) => {
      event.preventDefault();
      const row = state.rows.get(m.sid);
      (row ? row.firstElementChild : $("messages-title")).focus();
    });
    const facts = el("dl", { class: "facts" },
      ...field("Status", badge(m.status), m.errorCode ? ` error ${m.errorCode}` : null),
      ...field("Requested sender", el("code", { text: m.requestedFrom ?? "(none)" })),
      ...field("Effective sender", el("code", { text: m.from }),
        el("span", { class: "note", text: ` ${senderNote(m)}` })),
      ...field("To", el("code", { text: m.to })),
      ...field("API", apiName(m.api),
        m.incomplete ? el("span", { class: "note", text: " incomplete: parts never arrived" }) : null),
      ...field("SID", el("code", { text: m.sid })),
      ...field("Project", el("code", { text: m.projectId })),
      ...field("Created", timeEl(m.createdAt)),
      ...field("Status callback", m.statusCallback
        ? el("code", { text: m.statusCallback }) : "(none: the project's webhook, if any)"),
      ...(m.scenario ? field("Scenario", el("code", { text: m.scenario })) : []),
      ...(m.batchId ? field("Batch", el("code", { text: m.batchId })) : []),
      ...(m.price !== null && m.price !== undefined
        ? field("Price", `${m.price} (${m.segments} × the per-part price for ${m.to})`) : []),
      ...((m.warnings || []).length
        ? field("Warnings", el("ul", { class: "warnings" },
          ...m.warnings.map((w) => el("li", { text: w })))) : []),
    );
    $("detail-body").replaceChildren(
      back,
      facts,
      el("h3", { text: "Body" }),
      renderBody(m),
      ...renderAdvice(m),
      ...renderSegments(m),
      el("h3", { text: "Status timeline" }),
      el("ol", { class: "timeline" }, ...m.timeline.map((step) => el("li", {},
        badge(step.status), " ", timeEl(step.at),
        step.errorCode ? el("span", { class: "note", text: ` error ${step.errorCode}` }) : null))),
      ...renderCallbacks(m),
    );
  }

  // The body as text nodes, each character that forced UCS-2 in a <mark>: built node by
  // node (never innerHTML), so a body is shown exactly as sent, markup and all.
  function renderBody(m) {
    const pre = el("pre", { class: "body" });
    const culprits = new Map(((m.advice && m.advice.culprits) || []).map((c) => [c.char, c]));
    if (!culprits.size) {
      pre.textContent = m.body;
      return pre;
    }
    let run = "";
    for (const ch of Array.from(m.body)) {  // code points, as the advisor counts them
      const c = culprits.get(ch);
      if (!c) {
        run += ch;
        continue;
      }
      if (run) pre.append(document.createTextNode(run));
      run = "";
      const fix = c.replacement === null ? "no GSM-7 replacement" : `→ ${JSON.stringify(c.replacement)}`;
      pre.append(el("mark", { class: "culprit", text: ch, title: `${c.codePoint} ${c.name} ${fix}` }));
    }
    if (run) pre.append(document.createTextNode(run));
    return pre;
  }

  function renderAdvice(m) {
    const advice = m.advice;
    if (!advice) return [];
    const items = advice.culprits.map((c) => el("li", {},
      el("mark", { class: "culprit", text: c.char }), " ",
      el("code", { text: c.codePoint }), ` ${c.name || ""} at ${c.position}`,
      c.count > 1 ? ` (${c.count} times)` : "",
      c.replacement === null
        ? el("span", { class: "note", text: " no GSM-7 replacement" })
        : el("span", {}, " → ", el("code", { text: JSON.stringify(c.replacement) }))));
    return [
      el("h3", { text: "Why UCS-2" }),
      el("p", { class: "advice-summary", "data-testid": "advice-summary", text: advice.summary }),
      el("ul", { class: "culprits" }, ...items),
      el("p", { class: "why", text: `With the replacements (${advice.fixedEncoding}):` }),
      el("pre", { class: "body fixed", text: advice.fixedBody }),
    ];
  }

  function renderSegments(m) {
    const unit = unitName(m.encoding);
    const units = m.units || [];
    const total = units.reduce((a, b) => a + b, 0);
    const gsm = m.encoding === "GSM-7";
    const single = gsm ? 160 : 70;
    const multi = gsm ? 153 : 67;
    const limit = m.parts.length > 1 ? multi : single;
    const why = [
      `${m.encoding}: ${total} ${unit} in ${m.parts.length} ${m.parts.length === 1 ? "part" : "parts"}.`,
      ` One part holds ${single} ${unit}; a longer message is split into parts of at most ${multi}`,
      " (the concatenation header takes the rest).",
    ];
    if (gsm && GSM_EXTENSION.test(m.body)) {
      why.push(" Extension characters (^ { } \\ [ ~ ] | € and form feed) cost two septets each.");
    }
    if (!gsm) {
      why.push(" A character outside the GSM 03.38 alphabet makes the whole message UCS-2.");
    }
    const parts = m.parts.map((text, i) => {
      const used = units[i];
      return el("li", { class: "part", "data-units": used },
        el("div", { class: "part-head" },
          el("strong", { text: `Part ${i + 1} of ${m.parts.length}` }),
          el("span", { class: "units", text: `${used ?? "?"} / ${limit} ${unit}` }),
          el("meter", { min: 0, max: limit, value: used ?? 0, "aria-label": `part ${i + 1} fill` })),
        el("pre", { class: "part-text", text }));
    });
    return [
      el("h3", { text: `Segments: ${m.segments} billed` }),
      el("p", { class: "why", text: why.join("") }),
      el("ol", { class: "parts" }, ...parts),
    ];
  }

  function renderCallbacks(m) {
    const attempts = m.callbacks || [];
    const heading = el("h3", { text: `Callback attempts (${attempts.length})` });
    if (!attempts.length) {
      return [heading, el("p", { class: "empty", text: "No callback attempts (yet)." })];
    }
    return [heading, el("ol", { class: "attempts" }, ...attempts.map(renderAttempt))];
  }

  function renderAttempt(a) {
    const outcome = a.responseStatus !== null
      ? `answered ${a.responseStatus}` : `error: ${a.error || "no answer"}`;
    const redeliver = el("button", { type: "button", class: "small", text: "Redeliver",
      "aria-label": `Redeliver the ${a.status} callback, attempt ${a.attempt}` });
    redeliver.addEventListener("click", async () => {
      redeliver.disabled = true;
      try {
        await call("POST", `/_mock/callbacks/${encodeURIComponent(a.id)}/redeliver`);
      } catch (err) {
        redeliver.textContent = failureText(err);
      }
    });
    const headers = Object.entries(a.requestHeaders || {});
    return el("li", { class: `attempt ${a.ok ? "ok" : "failed"}` },
      el("div", { class: "attempt-head" },
        badge(a.status),
        el("span", { text: ` attempt ${a.attempt}${a.redelivery ? " (redelivery)" : ""} · ` }),
        el("strong", { class: a.ok ? "good" : "bad", text: outcome }),
        a.durationMs !== null ? el("span", { text: ` · ${Math.round(a.durationMs)} ms` }) : null,
        el("span", { text: " · " }), timeEl(a.at),
        a.fault ? el("span", { class: "note", text: ` · fault: ${a.fault}` }) : null,
        a.error && a.responseStatus !== null ? el("span", { class: "bad", text: ` · ${a.error}` }) : null),
      el("p", { class: "url" }, "POST ", el("code", { text: a.url }),
        a.sentTo ? el("span", { class: "note" }, " sent to ", el("code", { text: a.sentTo })) : null),
      el("table", { class: "headers" },
        el("caption", { text: "Request headers" }),
        el("tbody", {}, ...headers.map(([name, value]) => el("tr", {},
          el("th", { scope: "row", text: name }),
          el("td", {}, el("code", { text: value })))))),
      el("pre", { class: "payload", text: a.requestBody }),
      redeliver);
  }

  // -- projects, send, demo -----------------------------------------------------

  async function loadProjects() {
    state.projects = await listAll("/_mock/projects", "projects");
    const filter = $("project-filter");
    const send = $("send-project");
    const keepFilter = filter.value;
    const keepSend = send.value;
    filter.replaceChildren(el("option", { value: "", text: "All projects" }));
    send.replaceChildren();
    for (const p of state.projects) {
      filter.append(el("option", { value: p.projectId, text: p.projectId }));
      send.append(el("option", { value: p.projectId, text: p.projectId }));
    }
    const ids = state.projects.map((p) => p.projectId);
    filter.value = ids.includes(keepFilter) ? keepFilter : "";
    state.filter = filter.value;
    if (ids.includes(keepSend)) send.value = keepSend;
    else if (ids.includes(state.filter)) send.value = state.filter;
  }

  function basicAuth(projectId, apiKey) {
    // btoa takes Latin-1 only; encode UTF-8 first so any credential works.
    const bytes = new TextEncoder().encode(`${projectId}:${apiKey}`);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return `Basic ${btoa(binary)}`;
  }

  async function sendTest(event) {
    event.preventDefault();
    const project = state.projects.find((p) => p.projectId === $("send-project").value);
    if (!project) {
      say("send-result", "Choose a project first.", true);
      return;
    }
    const payload = { to: $("send-to").value.trim(), body: $("send-body").value };
    const from = $("send-from").value.trim();
    const callback = $("send-callback").value.trim();
    if (from) payload.from = from;
    if (callback) payload.statusCallback = callback;
    say("send-result", "Sending…");
    try {
      const data = await call("POST", "/api/v2/message", payload,
        { Authorization: basicAuth(project.projectId, project.apiKey) });
      say("send-result", `Sent: ${data.sid}`);
    } catch (err) {
      say("send-result", `Rejected: ${failureText(err)}`, true);
    }
  }

  async function demoTraffic(event) {
    event.preventDefault();
    const count = Number($("demo-count").value);
    const body = { count };
    if ($("send-project").value) body.projectId = $("send-project").value;
    say("demo-result", "Generating…");
    try {
      const data = await call("POST", "/_mock/demo", body);
      const rejected = data.rejected ? `, ${data.rejected} rejected by scenarios` : "";
      say("demo-result", `Sent ${data.sent.length} messages${rejected}.`);
    } catch (err) {
      say("demo-result", failureText(err), true);
    }
  }

  async function clearMessages() {
    try {
      await call("DELETE", `/_mock/messages${query({ projectId: state.filter })}`);
      await loadMessages();
      if (state.selected && !state.rows.has(state.selected)) closeDetail();
    } catch (err) {
      say("live", failureText(err), true);
    }
  }

  // -- scenarios, magic numbers, rejected requests ------------------------------

  function describeMatch(match) {
    const parts = Object.entries(match || {}).map(([fieldName, spec]) => {
      const [kind, pattern] = Object.entries(spec)[0];
      const op = { exact: "=", glob: "~", regex: "=~" }[kind] || kind;
      return `${fieldName} ${op} ${pattern}`;
    });
    return parts.length ? parts.join(", ") : "every send";
  }

  async function loadScenarios() {
    const scenarios = await listAll("/_mock/scenarios", "scenarios");
    const list = $("scenarios");
    list.replaceChildren(...scenarios.map((rule) => {
      const label = rule.name || rule.id;
      const remove = el("button", { type: "button", class: "small danger", text: "Remove",
        "aria-label": `Remove scenario ${label}` });
      remove.addEventListener("click", async () => {
        try {
          await call("DELETE", `/_mock/scenarios/${encodeURIComponent(rule.id)}`);
          await loadScenarios();
          say("scenario-result", `Removed ${label}.`);
        } catch (err) {
          say("scenario-result", failureText(err), true);
        }
      });
      const limits = rule.times ? ` · ${rule.remaining} of ${rule.times} left` : "";
      return el("li", { class: "scenario", "data-id": rule.id },
        el("div", {}, el("strong", { text: label }),
          el("span", { class: "note", text: ` (${rule.source}) · hits ${rule.hits}${limits}` })),
        el("div", { class: "match", text: `when ${describeMatch(rule.match)}` }),
        el("code", { class: "effect", text: JSON.stringify(rule.effect) }),
        remove);
    }));
    $("scenarios-empty").hidden = scenarios.length > 0;
  }

  function showEffectParams() {
    const effect = $("sc-effect").value;
    for (const box of document.querySelectorAll(".params")) {
      box.hidden = !box.dataset.for.split(" ").includes(effect);
    }
    if (effect === "failed" && $("sc-code").value === "30003") $("sc-code").value = "30008";
    if (effect === "undelivered" && $("sc-code").value === "30008") $("sc-code").value = "30003";
  }

  function scenarioEffect() {
    const effect = $("sc-effect").value;
    const seconds = Number($("sc-seconds").value);
    switch (effect) {
      case "apiError":
        return { apiError: { status: Number($("sc-status").value), message: $("sc-message").value } };
      case "undelivered":
      case "failed": {
        const code = $("sc-code").value.trim();
        return code ? { finalStatus: effect, errorCode: code } : { finalStatus: effect };
      }
      case "dropConnection":
        return { dropConnection: true };
      case "callback":
        return { callback: { [$("sc-fault").value]: true } };
      default: // latency, sendDelay, deliveryDelay
        return { [effect]: seconds };
    }
  }

  async function addScenario(event) {
    event.preventDefault();
    const rule = { effect: scenarioEffect() };
    const name = $("sc-name").value.trim();
    const pattern = $("sc-pattern").value;
    const times = $("sc-times").value;
    if (name) rule.name = name;
    if (pattern) rule.match = { [$("sc-field").value]: { [$("sc-kind").value]: pattern } };
    if (times) rule.times = Number(times);
    try {
      const created = await call("POST", "/_mock/scenarios", rule);
      say("scenario-result", `Added ${created.name || created.id}.`);
      await loadScenarios();
    } catch (err) {
      say("scenario-result", `Not added: ${failureText(err)}`, true);
    }
  }

  async function loadMagic() {
    const data = await call("GET", "/_mock/scenarios/builtin");
    $("magic-range").textContent = `Built in, for ${data.range} (Ofcom's drama range). `
      + "Pick a number to put it in the send form.";
    $("magic").replaceChildren(...data.numbers.map((n) => {
      const use = el("button", { type: "button", class: "link", text: n.number,
        "aria-label": `Use ${n.number} in the send form` });
      use.addEventListener("click", () => {
        $("send-to").value = n.number;
        $("send-to").focus();
      });
      return el("tr", {}, el("td", {}, use), el("td", { text: n.outcome }));
    }));
  }

  function rejectedItem(r) {
    const status = r.status === null ? "dropped" : String(r.status);
    const warnings = (r.warnings || []).join("; ");
    const message = r.error && r.error.message ? r.error.message : warnings;
    return el("li", {},
      el("strong", { class: r.error ? "bad" : "warn", text: status }), " ", timeEl(r.at), " ",
      el("code", { text: `${r.method} ${r.path}` }),
      r.scenario ? el("span", { class: "note", text: ` scenario ${r.scenario}` }) : null,
      el("div", { class: "reason", text: message }));
  }

  async function loadRejected() {
    const data = await call("GET", `/_mock/requests${query({
      projectId: state.filter, order: "newest", limit: String(MAX_REJECTED) })}`);
    const items = data.requests;
    $("rejected").replaceChildren(...items.map(rejectedItem));
    $("rejected-empty").hidden = items.length > 0;
  }

  function addRejected(r) {
    if (state.filter && r.projectId !== state.filter) return;
    const list = $("rejected");
    list.prepend(rejectedItem(r));
    while (list.children.length > MAX_REJECTED) list.lastElementChild.remove();
    $("rejected-empty").hidden = true;
  }

  // -- SMPP sessions ------------------------------------------------------------

  function sessionItem(s) {
    return el("li", {},
      el("strong", { text: s.systemId }), ` ${s.bindType} `, el("code", { text: s.peer }),
      el("div", { class: "note", text: `since ${clockTime(s.since)} · ${s.pdusIn} PDUs in, ${s.pdusOut} out` }));
  }

  async function loadSmpp() {
    const [health, data] = await Promise.all([
      call("GET", "/_mock/health"),
      call("GET", `/_mock/smpp/sessions${query({ projectId: state.filter })}`),
    ]);
    $("smpp-port").textContent = health.smppPort === null
      ? "SMPP is off (--smpp-port 0)." : `Listening on port ${health.smppPort}.`;
    $("smpp-sessions").replaceChildren(...data.sessions.map(sessionItem));
    $("smpp-empty").hidden = data.sessions.length > 0;
  }

  // -- clock --------------------------------------------------------------------

  function showClock(clock) {
    const manual = clock.mode === "manual";
    $("clock").hidden = !manual;
    if (!manual) return;
    const now = $("clock-now");
    now.dateTime = clock.now;
    now.textContent = clock.now.replace("T", " ").slice(0, 23);
    $("clock-pending").textContent = String(clock.pending);
  }

  async function loadClock() {
    showClock(await call("GET", "/_mock/clock"));
  }

  async function advanceClock(event) {
    event.preventDefault();
    const seconds = Number($("advance-seconds").value);
    try {
      const clock = await call("POST", "/_mock/clock/advance", { seconds });
      showClock(clock);
      say("clock-result", `ran ${clock.ran} ${clock.ran === 1 ? "job" : "jobs"}`);
    } catch (err) {
      say("clock-result", failureText(err), true);
    }
  }

  // Hit counters and the clock's pending count change with traffic, without events
  // of their own: refresh them a moment after activity settles.
  function refreshSoon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => {
      loadScenarios().catch(() => {});
      loadClock().catch(() => {});
    }, 250);
  }

  // -- live events --------------------------------------------------------------

  function onEvent(kind, data) {
    switch (kind) {
      case "message":
        if (state.buffer) state.buffer.push([kind, data]);
        else if (matchesFilter(data.projectId)) addRow(data);
        refreshSoon();
        break;
      case "status":
        if (state.buffer) state.buffer.push([kind, data]);
        else updateRow(data);
        refreshDetailSoon(data.sid);
        refreshSoon();
        break;
      case "callback":
        refreshDetailSoon(data.sid);
        break;
      case "rejected":
        addRejected(data);
        refreshSoon();
        break;
      case "scenario":
        loadScenarios().catch(() => {});
        break;
      case "project":
        loadProjects().catch(() => {});
        break;
      case "cleared":
        if (!data.projectId || matchesFilter(data.projectId)) reloadMessages();
        break;
      case "reset":
        loadAll();
        break;
      case "smpp":
        loadSmpp().catch(() => {});
        break;
      case "missed": // the stream fell behind and dropped events: catch up from the API
        loadAll();
        break;
      default:
        break;
    }
  }

  function reloadMessages() {
    loadMessages().then(() => {
      if (state.selected && !state.rows.has(state.selected)) closeDetail();
    }, () => {});
  }

  function connect() {
    const live = $("live");
    const source = new EventSource("/_mock/events");
    source.addEventListener("open", () => {
      live.dataset.state = "live";
      live.textContent = "Live";
      // Events sent while the stream was down are lost: catch up from the API.
      if (state.everConnected) loadAll();
      state.everConnected = true;
    });
    source.addEventListener("error", () => {
      live.dataset.state = "down";
      live.textContent = "Reconnecting…";
    });
    const kinds = ["message", "status", "callback", "rejected", "scenario", "project",
      "cleared", "reset", "missed", "smpp"];
    for (const kind of kinds) {
      source.addEventListener(kind, (event) => {
        let data = {};
        try {
          data = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        onEvent(kind, data);
      });
    }
  }

  async function loadAll() {
    try {
      await loadProjects();
      await Promise.all([loadMessages(), loadScenarios(), loadMagic(), loadClock(),
        loadRejected(), loadSmpp()]);
      const sid = location.hash.slice(1);
      if (sid && sid !== state.selected) await openMessage(sid, false);
      else if (state.selected) refreshDetailSoon(state.selected);
    } catch (err) {
      say("live", `Could not load: ${failureText(err)}`, true);
    }
  }

  function start() {
    $("project-filter").addEventListener("change", () => {
      state.filter = $("project-filter").value;
      state.keep = PAGE;
      if (state.filter) $("send-project").value = state.filter;
      $("clear").textContent = state.filter ? "Clear this project's messages" : "Clear messages";
      reloadMessages();
      loadRejected().catch(() => {});
      loadSmpp().catch(() => {});
    });
    $("clear").addEventListener("click", clearMessages);
    $("older").addEventListener("click", loadOlder);
    $("send-form").addEventListener("submit", sendTest);
    $("demo-form").addEventListener("submit", demoTraffic);
    $("scenario-form").addEventListener("submit", addScenario);
    $("sc-effect").addEventListener("change", showEffectParams);
    $("clock").addEventListener("submit", advanceClock);
    showEffectParams();
    document.body.dataset.ready = "loading";
    connect();
    loadAll().then(() => {
      document.body.dataset.ready = "yes";
    });
  }

  start();
})();
