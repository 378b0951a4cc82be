// The executor's dashboard: one ES module, no build step, no dependency.
//
// Every value that comes from the executor (event data, outputs, errors, names) reaches the page
// as a text node or a property, never as HTML: `h()` below is the only way this file makes
// elements, and it has no way to parse markup.
//
// Live updates: the current view's JSON is fetched again every second with the browser's cache
// revalidating it (`cache: "no-cache"` sends If-None-Match); the executor answers 304 until
// something changed, and the view is redrawn only when an ETag changes.

const UI = "/ui";
const API = `${UI}/api`;
const POLL_MS = 1000;
const STATUSES = ["Running", "Completed", "Failed", "Cancelled", "Skipped"];
const WINDOWS = [
  ["", "any time"],
  ["900", "last 15 minutes"],
  ["3600", "last hour"],
  ["86400", "last 24 hours"],
  ["604800", "last 7 days"],
];

// ---------------------------------------------------------------------------- elements

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "for") el.htmlFor = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && typeof el[key] !== "function") el[key] = value;
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const link = (href, ...children) => h("a", { href }, ...children);
const runHref = (id) => `${UI}/runs/${encodeURIComponent(id)}`;
const eventHref = (id) => `${UI}/events/${encodeURIComponent(id)}`;
const badge = (status) => h("span", { class: `badge s-${String(status).toLowerCase()}` }, status);
const json = (value) => h("pre", { class: "json", tabIndex: 0 }, JSON.stringify(value, null, 2) ?? "null");

// A list as a table that scrolls sideways on a narrow window rather than squeezing.
function table(caption, headings, rows) {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "list" },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows),
    ),
  );
}

// ---------------------------------------------------------------------------- formatting

const pad = (n) => String(n).padStart(2, "0");

function when(seconds) {
  if (!seconds) return "–";
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 120) return `${s.toFixed(2)}s`;
  if (s < 7200) return `${(s / 60).toFixed(1)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

function relative(at) {
  const delta = at - Date.now() / 1000;
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
}

// A time that keeps saying how far away it is (updated by tick()).
const due = (at) => h("span", { class: "due", dataset: { at: String(at) } }, `${when(at)} (${relative(at)})`);

// How long something has been going on, for a run still running (updated by tick()).
const soFar = (since) => h("span", { dataset: { since: String(since) } }, `${duration(Date.now() / 1000 - since)} so far`);

function tick() {
  for (const el of document.querySelectorAll("[data-at]")) {
    const at = Number(el.dataset.at);
    el.textContent = `${when(at)} (${relative(at)})`;
  }
  for (const el of document.querySelectorAll("[data-since]")) el.textContent = `${duration(Date.now() / 1000 - Number(el.dataset.since))} so far`;
}

function errorText(error) {
  if (error === null || error === undefined) return "";
  if (typeof error !== "object") return String(error);
  const message = error.message ?? error.error ?? "";
  const name = error.name ?? "";
  return name && !String(message).startsWith(`${name}:`) ? `${name}: ${message}` : String(message);
}

// An error with its stack; `stack` says whether the stack shows open, folded, or not at all.
function errorBlock(error, title, stack = "open") {
  const text = error && typeof error === "object" && typeof error.stack === "string" ? error.stack : "";
  return h(
    "div",
    { class: "error-box", role: "group", "aria-label": title },
    h("p", { class: "error-title" }, h("strong", {}, `${title}: `), errorText(error)),
    text && stack !== "none"
      ? h("details", { open: stack === "open" }, h("summary", {}, "Stack"), h("pre", { class: "stack", tabIndex: 0 }, text))
      : null,
  );
}

// ---------------------------------------------------------------------------- talking to the executor

class ApiError extends Error {}

async function get(path) {
  const response = await fetch(`${API}${path}`, { cache: "no-cache", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(body?.error || `HTTP ${response.status}`);
  return { etag: response.headers.get("ETag") || "", body };
}

async function act(path, payload) {
  const response = await fetch(`${API}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Inngest-Dashboard": "1" },
    body: JSON.stringify(payload ?? {}),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(body?.error || `HTTP ${response.status}`);
  return body;
}

function parseData(text) {
  let value;
  try {
    value = JSON.parse(text.trim() || "{}");
  } catch (err) {
    throw new ApiError(`data is not JSON: ${err.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ApiError("data must be a JSON object");
  return value;
}

// ---------------------------------------------------------------------------- views
// A view: { title, sources(): [paths], chrome?: element drawn once, draw(bodies): element }.

function runsView(params) {
  const query = new URLSearchParams();
  for (const key of ["function", "status", "cursor"]) if (params.get(key)) query.set(key, params.get(key));
  const win = params.get("window");
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter runs" });
  const fnSelect = h("select", { id: "f-function", name: "function" }, h("option", { value: "" }, "all functions"));
  const statusSelect = h(
    "select",
    { id: "f-status", name: "status" },
    h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s)),
  );
  const windowSelect = h(
    "select",
    { id: "f-window", name: "window" },
    WINDOWS.map(([value, label]) => h("option", { value, selected: (win || "") === value }, label)),
  );
  append(filters, [
    h("label", { for: "f-function" }, "Function"),
    fnSelect,
    h("label", { for: "f-status" }, "Status"),
    statusSelect,
    h("label", { for: "f-window" }, "Started"),
    windowSelect,
  ]);
  filters.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(filters)) if (value) next.set(key, value);
    navigate(`${UI}/runs${next.size ? `?${next}` : ""}`, true);
  });
  return {
    title: "Runs",
    chrome: filters,
    sources() {
      const q = new URLSearchParams(query);
      if (win) q.set("since", String(Math.floor((Date.now() / 1000 - Number(win)) / 60) * 60));
      return [`/runs?${q}`, "/functions"];
    },
    draw([page, fns]) {
      const chosen = params.get("function") || "";
      const have = new Set([...fnSelect.options].map((o) => o.value));
      for (const fn of fns.functions) {
        if (!have.has(fn.slug)) fnSelect.append(h("option", { value: fn.slug, selected: fn.slug === chosen }, fn.name === fn.slug ? fn.slug : `${fn.name} (${fn.slug})`));
      }
      if (chosen && !have.has(chosen) && !fns.functions.some((f) => f.slug === chosen)) fnSelect.append(h("option", { value: chosen, selected: true }, chosen));
      if (!page.runs.length) return h("p", { class: "empty" }, params.toString() ? "No run matches these filters." : "No runs yet: send an event that a function is triggered by.");
      const rows = page.runs.map((run) =>
        h(
          "tr",
          { dataset: { run: run.run_id } },
          h("td", {}, link(runHref(run.run_id), h("code", {}, run.run_id))),
          h("td", { class: "num" }, run.function),
          h("td", {}, badge(run.status)),
          h("td", {}, run.event ?? "–"),
          h("td", { class: "num" }, when(run.created_at)),
          h("td", { class: "num" }, run.ended_at ? duration(run.ended_at - run.created_at) : h("span", { class: "muted" }, "running")),
          h("td", { class: "clip" }, run.error ?? ""),
        ),
      );
      const older = new URLSearchParams(query);
      if (win) older.set("window", win);
      if (page.next) older.set("cursor", page.next);
      return h(
        "div",
        {},
        table("Runs, newest first", ["Run", "Function", "Status", "Event", "Started", "Duration", "Error"], rows),
        h(
          "p",
          { class: "pager" },
          params.get("cursor") ? link(`${UI}/runs${win ? `?window=${encodeURIComponent(win)}` : ""}`, "Newest runs") : null,
          page.next ? link(`${UI}/runs?${older}`, "Older runs →") : null,
        ),
      );
    },
  };
}

function timelineRow(entry, origin, span) {
  const left = Math.min(100, (entry.offset / span) * 100);
  const width = Math.max(0.6, Math.min(100 - left, (entry.duration / span) * 100));
  const label = entry.name || entry.kind;
  const attempt = entry.attempt ? h("span", { class: "attempt" }, `attempt ${entry.attempt + 1}`) : null;
  const facts = [];
  if (entry.kind === "Sleep" && entry.until) facts.push(h("p", {}, entry.open ? "Sleeping until " : "Slept until ", due(entry.until)));
  if (entry.kind === "WaitForEvent") {
    if (entry.event) facts.push(h("p", {}, "Waits for ", h("code", {}, entry.event), entry.if ? [" if ", h("code", {}, entry.if)] : null));
    if (entry.open && entry.due_at) facts.push(h("p", {}, "Times out ", due(entry.due_at)));
  }
  if (entry.kind === "WaitForSignal" && entry.signal) facts.push(h("p", {}, "Waits for signal ", h("code", {}, entry.signal)));
  if (entry.kind === "InvokeFunction") {
    facts.push(
      h(
        "p",
        {},
        "Invokes ",
        h("code", {}, entry.function_id || "?"),
        entry.child_run ? [": ", link(runHref(entry.child_run), "child run ", h("code", {}, entry.child_run))] : entry.open ? ": starting" : null,
      ),
    );
    if (entry.open && entry.due_at) facts.push(h("p", {}, "Times out ", due(entry.due_at)));
  }
  if (entry.timed_out) facts.push(h("p", {}, "Timed out"));
  // The run's own end repeats the last error, whose stack the Error section below shows in full.
  if (entry.error !== undefined && entry.error !== null) facts.push(errorBlock(entry.error, "Error", entry.kind === "Failed" ? "none" : "folded"));
  if (entry.retry_at) facts.push(h("p", { class: "retry" }, `Attempt ${(entry.attempt || 0) + 2} due `, due(entry.retry_at)));
  if (entry.reason) facts.push(h("p", {}, `Reason: ${entry.reason}`));
  if ("output" in entry) facts.push(h("div", { class: "value" }, h("span", { class: "value-label" }, "Output"), json(entry.output)));
  if ("result" in entry) facts.push(h("div", { class: "value" }, h("span", { class: "value-label" }, "Result"), json(entry.result)));
  return h(
    "li",
    { class: `step st-${entry.state}`, dataset: { kind: entry.kind, step: label } },
    h(
      "div",
      { class: "step-head" },
      h("span", { class: "step-name" }, entry.name ? [h("span", { class: "kind" }, entry.kind), " "] : null, h("strong", {}, label)),
      h(
        "span",
        { class: "track", role: "img", "aria-label": `from +${duration(entry.offset)} for ${duration(entry.duration)}` },
        h("span", { class: `bar${entry.open ? " open" : ""}`, style: { "--left": `${left}%`, "--width": `${width}%` } }),
      ),
      h("span", { class: "step-time num" }, `+${duration(entry.offset)}`, " · ", entry.open ? `${duration(entry.duration)} so far` : duration(entry.duration)),
      attempt,
    ),
    facts.length ? h("div", { class: "step-body" }, facts) : null,
  );
}

function runView(runId) {
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  return {
    title: `Run ${runId}`,
    heading: false,
    sources: () => [`/runs/${encodeURIComponent(runId)}`],
    draw([run]) {
      const end = run.ended_at || run.now;
      const span = Math.max(end - run.created_at, 0.001);
      const buttons = h(
        "div",
        { class: "actions" },
        run.status === "Running"
          ? h("button", { type: "button", class: "danger", onclick: () => perform(status, () => act(`/runs/${encodeURIComponent(runId)}/cancel`), () => refresh()) }, "Cancel run")
          : null,
        h(
          "button",
          {
            type: "button",
            onclick: () => perform(status, () => act(`/runs/${encodeURIComponent(runId)}/rerun`), (r) => navigate(runHref(r.run_id))),
          },
          "Rerun",
        ),
      );
      const links = [];
      run.event_ids.forEach((id, i) => links.push(h("li", {}, "Triggered by ", link(eventHref(id), run.events[i]?.name ?? id), " ", h("code", {}, id))));
      if (run.parent_run) links.push(h("li", {}, "Invoked by run ", link(runHref(run.parent_run), h("code", {}, run.parent_run))));
      if (run.rerun_of) links.push(h("li", {}, "Rerun of ", link(runHref(run.rerun_of), h("code", {}, run.rerun_of))));
      for (const id of run.reruns) links.push(h("li", {}, "Rerun as ", link(runHref(id), h("code", {}, id))));
      if (run.cron) links.push(h("li", {}, "Cron ", h("code", {}, run.cron)));
      if (run.skip_reason) links.push(h("li", {}, `Skipped: ${run.skip_reason}`));
      const retry = run.next_retry;
      return h(
        "div",
        {},
        h(
          "div",
          { class: "run-head" },
          h("h1", {}, run.function_name, " ", badge(run.status)),
          h("p", { class: "muted" }, h("code", {}, run.run_id), run.app ? ` · app ${run.app}` : ""),
          buttons,
          status,
        ),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Queued"),
          h("dd", {}, when(run.created_at)),
          h("dt", {}, "Started"),
          h("dd", {}, when(run.started_at)),
          h("dt", {}, "Ended"),
          h("dd", {}, when(run.ended_at)),
          h("dt", {}, "Duration"),
          h("dd", {}, run.ended_at ? duration(run.ended_at - run.created_at) : soFar(run.created_at)),
          run.max_attempts ? [h("dt", {}, "Attempts per step"), h("dd", {}, String(run.max_attempts))] : null,
        ),
        links.length ? h("ul", { class: "links" }, links) : null,
        retry
          ? h(
              "div",
              { class: "retry-box", role: "group", "aria-label": "Next retry" },
              h("p", {}, h("strong", {}, `Attempt ${retry.attempt} failed`), `: ${errorText(retry.error)}`),
              h("p", {}, `Attempt ${retry.attempt + 1} is due `, due(retry.at)),
            )
          : null,
        h("h2", {}, "Timeline"),
        h("p", { class: "axis muted" }, h("span", {}, "0"), h("span", {}, run.ended_at ? duration(span) : `${duration(span)} (now)`)),
        h("ol", { class: "timeline" }, run.timeline.map((e) => timelineRow(e, run.created_at, span))),
        run.status === "Failed" && run.error ? [h("h2", {}, "Error"), errorBlock(run.error, "Run failed")] : null,
        run.output !== null && run.status !== "Failed" ? [h("h2", {}, "Output"), json(run.output)] : null,
        h("h2", {}, run.events.length > 1 ? `Input: ${run.events.length} events` : "Input"),
        json(run.events.length === 1 ? run.events[0] : run.events),
      );
    },
  };
}

function eventsView(params) {
  const query = new URLSearchParams();
  for (const key of ["name", "cursor", "internal"]) if (params.get(key)) query.set(key, params.get(key));
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter events" });
  append(filters, [
    h("label", { for: "e-name" }, "Name"),
    h("input", { id: "e-name", name: "name", value: params.get("name") || "", placeholder: "exact event name" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "internal", value: "1", checked: params.get("internal") === "1" }), " lifecycle events"),
    h("button", { type: "submit" }, "Filter"),
  ]);
  const apply = (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(filters)) if (value) next.set(key, value);
    navigate(`${UI}/events${next.size ? `?${next}` : ""}`, true);
  };
  filters.addEventListener("submit", apply);
  filters.addEventListener("change", (event) => event.target.type === "checkbox" && apply(event));
  return {
    title: "Events",
    chrome: filters,
    sources: () => [`/events?${query}`],
    draw([page]) {
      if (!page.events.length) return h("p", { class: "empty" }, "No events yet: send one with the button above.");
      const rows = page.events.map((event) =>
        h(
          "tr",
          { dataset: { event: event.internal_id } },
          h("td", {}, link(eventHref(event.internal_id), event.name)),
          h("td", {}, h("code", {}, event.internal_id)),
          h("td", { class: "num" }, when(event.received_at)),
          h(
            "td",
            {},
            event.runs.length
              ? h("ul", { class: "inline" }, event.runs.map((r) => h("li", {}, link(runHref(r.run_id), r.function), " ", badge(r.status))))
              : h("span", { class: "muted" }, `no run: ${event.no_run_reason}`),
          ),
        ),
      );
      const older = new URLSearchParams(query);
      if (page.next) older.set("cursor", page.next);
      return h(
        "div",
        {},
        table("Events, newest first", ["Event", "ID", "Received", "Runs"], rows),
        h("p", { class: "pager" }, params.get("cursor") ? link(`${UI}/events`, "Newest events") : null, page.next ? link(`${UI}/events?${older}`, "Older events →") : null),
      );
    },
  };
}

function eventView(id) {
  return {
    title: `Event ${id}`,
    heading: false,
    sources: () => [`/events/${encodeURIComponent(id)}`],
    draw([event]) {
      return h(
        "div",
        {},
        h("h1", {}, event.name),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Internal ID"),
          h("dd", {}, h("code", {}, event.internal_id)),
          h("dt", {}, "Event ID"),
          h("dd", {}, h("code", {}, event.id ?? "–")),
          h("dt", {}, "Received"),
          h("dd", {}, when(event.received_at)),
        ),
        h("h2", {}, "Runs"),
        event.runs.length
          ? h("ul", { class: "links" }, event.runs.map((r) => h("li", {}, link(runHref(r.run_id), r.function, " ", h("code", {}, r.run_id)), " ", badge(r.status))))
          : h("p", { class: "muted" }, `No run: ${event.no_run_reason}`, event.resumed ? [" ", link(runHref(event.resumed), "open that run")] : null),
        h("h2", {}, "Payload"),
        json({ name: event.name, id: event.id, ts: event.ts, data: event.data, user: event.user }),
      );
    },
  };
}

function flowList(flow) {
  const keys = Object.keys(flow);
  if (!keys.length) return h("p", { class: "muted" }, "no flow control");
  return h("dl", { class: "facts" }, keys.map((key) => [h("dt", {}, key), h("dd", {}, h("code", {}, JSON.stringify(flow[key])))]));
}

function functionsView() {
  return {
    title: "Functions",
    sources: () => ["/functions"],
    draw([body]) {
      if (!body.functions.length) return h("p", { class: "empty" }, "No functions: start an app and let it sync (inngest-serverless dev -u URL).");
      return h(
        "div",
        { class: "cards" },
        body.functions.map((fn, index) => {
          const dataId = `invoke-data-${index}`;
          const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
          const data = h("textarea", { id: dataId, rows: 3, spellcheck: false, value: "{}" });
          const form = h(
            "form",
            {
              class: "stack invoke",
              onsubmit: (event) => {
                event.preventDefault();
                perform(status, () => act(`/functions/${encodeURIComponent(fn.slug)}/invoke`, { data: parseData(data.value) }), (r) =>
                  r.run_id ? navigate(runHref(r.run_id)) : (status.textContent = `Sent ${r.id}; no run started`),
                );
              },
            },
            h("label", { for: dataId }, "Invoke with data (JSON object)"),
            data,
            h("button", { type: "submit" }, "Invoke"),
            status,
          );
          const counts = Object.entries(fn.runs);
          return h(
            "section",
            { class: "card", "aria-labelledby": `fn-${index}` },
            h("h2", { id: `fn-${index}` }, fn.name),
            h("p", { class: "muted" }, h("code", {}, fn.slug), ` · app ${fn.app} · retries ${fn.retries}`),
            h("h3", {}, "Triggers"),
            h(
              "ul",
              { class: "links" },
              fn.triggers.map((t) =>
                h("li", {}, t.event ? ["event ", h("code", {}, t.event), t.expression ? [" if ", h("code", {}, t.expression)] : null] : ["cron ", h("code", {}, t.cron)]),
              ),
            ),
            h("h3", {}, "Flow control"),
            flowList(fn.flow_control),
            h("h3", {}, "Runs"),
            counts.length
              ? h("ul", { class: "inline" }, counts.map(([s, n]) => h("li", {}, link(`${UI}/runs?function=${encodeURIComponent(fn.slug)}&status=${encodeURIComponent(s)}`, `${n} ${s}`))))
              : h("p", { class: "muted" }, "none yet"),
            form,
          );
        }),
      );
    },
  };
}

function appsView() {
  return {
    title: "Apps",
    sources: () => ["/apps"],
    draw([body]) {
      if (!body.apps.length) return h("p", { class: "empty" }, "No apps: pass -u URL to inngest-serverless dev, or point an app's INNGEST_DEV at this executor.");
      const rows = body.apps.map((app) =>
        h(
          "tr",
          {},
          h("td", {}, app.name ?? h("span", { class: "muted" }, "not synced")),
          h("td", { class: "clip" }, h("code", {}, app.url)),
          h("td", {}, app.sdk ?? "–"),
          h("td", {}, app.framework ?? "–"),
          h("td", { class: "num" }, String(app.functions)),
          h("td", {}, app.synced_at ? due(app.synced_at) : "never"),
          h("td", {}, app.error ? h("span", { class: "sync-error" }, app.error) : h("span", { class: "ok" }, "ok")),
        ),
      );
      return table("Apps", ["App", "URL", "SDK", "Framework", "Functions", "Last sync", "Sync"], rows);
    },
  };
}

function notFoundView() {
  return { title: "Not found", sources: () => [], draw: () => h("p", { class: "empty" }, "No such page. ", link(`${UI}/runs`, "See the runs.")) };
}

// ---------------------------------------------------------------------------- routing and polling

function route(url) {
  const path = url.pathname.replace(/\/+$/, "") || UI;
  const parts = path.slice(UI.length).split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] || "runs";
  if (section === "runs" && parts.length === 1) return ["runs", runsView(url.searchParams)];
  if (section === "runs" && parts.length === 2) return ["runs", runView(parts[1])];
  if (section === "events" && parts.length === 1) return ["events", eventsView(url.searchParams)];
  if (section === "events" && parts.length === 2) return ["events", eventView(parts[1])];
  if (section === "functions" && parts.length === 1) return ["functions", functionsView()];
  if (section === "apps" && parts.length === 1) return ["apps", appsView()];
  return ["", notFoundView()];
}

const state = { view: null, content: null, etags: "", timer: 0, generation: 0 };
const main = document.getElementById("main");
const live = document.getElementById("live");

function render() {
  const [section, view] = route(new URL(location.href));
  state.generation += 1;
  state.view = view;
  state.etags = "";
  document.title = `${view.title} · inngest-serverless dev`;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  state.content = h("div", { class: "content" }, h("p", { class: "muted" }, "Loading…"));
  // The run and event pages title themselves (with what they load); the lists have a fixed one.
  main.replaceChildren(...(view.heading === false ? [] : [h("h1", {}, view.title)]), ...(view.chrome ? [view.chrome] : []), state.content);
  refresh();
}

async function refresh() {
  clearTimeout(state.timer);
  const { view, generation } = state;
  try {
    const results = await Promise.all(view.sources().map(get));
    if (generation !== state.generation) return;
    const etags = results.map((r) => r.etag).join(" ");
    if (etags !== state.etags || !etags) {
      state.etags = etags;
      const drawn = view.draw(results.map((r) => r.body));
      const focused = document.activeElement;
      const keep = focused && state.content.contains(focused) ? focusKey(focused) : null;
      state.content.replaceChildren(drawn);
      if (keep) restoreFocus(keep);
    }
    live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    live.className = "";
  } catch (err) {
    if (generation !== state.generation) return;
    if (err instanceof ApiError) {
      state.content.replaceChildren(h("p", { class: "error-box" }, err.message));
      state.etags = "";
    }
    live.textContent = err instanceof ApiError ? "live" : "the executor does not answer; retrying…";
    live.className = err instanceof ApiError ? "" : "offline";
  }
  if (generation === state.generation && view.sources().length) state.timer = setTimeout(refresh, POLL_MS);
}

// Redrawing replaces the list: keep the keyboard focus on the same link or button.
function focusKey(el) {
  return el.getAttribute("href") || (el.tagName === "BUTTON" ? `button:${el.textContent}` : null);
}

function restoreFocus(key) {
  for (const el of state.content.querySelectorAll("a, button")) {
    if (el.getAttribute("href") === key || `button:${el.textContent}` === key) {
      el.focus();
      return;
    }
  }
}

function navigate(href, replace = false) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  render();
  if (!replace) main.focus({ preventScroll: true });
}

async function perform(status, action, then) {
  status.textContent = "…";
  status.className = "form-status";
  try {
    const result = await action();
    status.textContent = "";
    await then(result);
  } catch (err) {
    status.textContent = err instanceof ApiError ? err.message : "the executor does not answer";
    status.className = "form-status failed";
  }
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${UI}/`) || url.pathname.startsWith(`${API}/`) || a.target) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", render);

document.getElementById("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const status = document.getElementById("send-status");
  perform(
    status,
    () => act("/events", { name: form.elements.name.value, data: parseData(form.elements.data.value) }),
    (r) => {
      status.replaceChildren();
      append(status, [
        "Sent ",
        link(eventHref(r.id), h("code", {}, r.id)),
        r.runs.length ? [": started ", r.runs.map((run, i) => [i ? ", " : "", link(runHref(run.run_id), run.function)])] : ": no run started",
      ]);
      refresh();
    },
  );
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
setInterval(tick, 1000);
render();
