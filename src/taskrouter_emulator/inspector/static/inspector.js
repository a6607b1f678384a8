// The inspector: reads and changes state through the emulator's /v1 API and /emulator/clock with the
// account's credentials (HTTP Basic, kept in sessionStorage), and follows the workspace's events
// through the server-sent-event feed /emulator/ui/events. No build step, no external resources.
"use strict";

const STORAGE_KEY = "taskrouter-inspector-credentials";
const ACTIVE_TASK_STATUSES = ["reserved", "assigned", "wrapping"];
const WAITING_TASK_STATUSES = ["pending", "reserved"];

const state = {
  credentials: null, // {accountSid, token}
  workspaceSid: null,
  feed: null, // AbortController of the running event stream
  refreshing: false,
  refreshAgain: false,
  refreshTimer: null,
  rendered: {}, // fingerprint of the data each table was last drawn from
};

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

// ---- small DOM helpers -------------------------------------------------------------------------

function $(selector) {
  return document.querySelector(selector);
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, kind = "ok") {
  const message = $("#message");
  message.textContent = text;
  message.className = kind;
}

function sayError(error) {
  const code = error.code ? ` (${error.code})` : "";
  say(`${error.message}${code}`, "error");
}

function formatAge(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function compactJson(text) {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

// ---- HTTP ----------------------------------------------------------------------------------------

function authHeader() {
  const { accountSid, token } = state.credentials;
  const bytes = new TextEncoder().encode(`${accountSid}:${token}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

async function api(method, path, params) {
  // credentials "omit": a 401 then reaches this code instead of opening the browser's login dialog.
  const init = {
    method,
    credentials: "omit",
    headers: { Authorization: authHeader(), Accept: "application/json" },
  };
  if (params) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") form.append(key, value);
    }
    init.body = form;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, body);
    if (response.status === 401) logout(`Not authorised: ${error.message} (${error.code})`);
    throw error;
  }
  return body;
}

// Fetch every page of a /v1 list (paging follows next_page_url, as clients must).
async function listAll(path, key) {
  const items = [];
  let url = `${path}${path.includes("?") ? "&" : "?"}PageSize=1000`;
  while (url) {
    const page = await api("GET", url);
    items.push(...page[key]);
    const next = page.meta && page.meta.next_page_url;
    url = next ? new URL(next, location.href).pathname + new URL(next, location.href).search : null;
  }
  return items;
}

const ws = (suffix = "") => `/v1/Workspaces/${state.workspaceSid}${suffix}`;

// ---- log in / out --------------------------------------------------------------------------------

function loadCredentials() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    return null;
  }
}

function logout(reason) {
  sessionStorage.removeItem(STORAGE_KEY);
  state.credentials = null;
  stopFeed();
  $("#inspector").hidden = true;
  $("#session").hidden = true;
  $("#login-panel").hidden = false;
  if (reason) say(reason, "error");
}

async function login(credentials) {
  state.credentials = credentials;
  try {
    await api("GET", "/v1/Workspaces?PageSize=1");
  } catch (error) {
    if (error.status !== 401) sayError(error);
    return;
  }
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  $("#login-panel").hidden = true;
  $("#session").hidden = false;
  $("#account-label").textContent = credentials.accountSid;
  $("#inspector").hidden = false;
  say("");
  await loadWorkspaces(location.hash.slice(1) || null);
}

// ---- workspaces ----------------------------------------------------------------------------------

async function loadWorkspaces(preferred) {
  const workspaces = await listAll("/v1/Workspaces", "workspaces");
  const select = $("#workspace");
  select.replaceChildren(
    ...workspaces.map((w) => el("option", { value: w.sid }, `${w.friendly_name} (${w.sid})`)),
  );
  if (!workspaces.length) {
    select.append(el("option", { value: "" }, "no workspace yet: create one"));
    selectWorkspace(null);
    return;
  }
  const chosen = workspaces.some((w) => w.sid === preferred) ? preferred : workspaces[0].sid;
  select.value = chosen;
  selectWorkspace(chosen);
}

function selectWorkspace(sid) {
  state.workspaceSid = sid;
  state.rendered = {};
  if (sid) history.replaceState(null, "", `#${sid}`);
  $("#events").replaceChildren();
  startFeed();
  scheduleRefresh(0);
}

// ---- reading state -------------------------------------------------------------------------------

function scheduleRefresh(delay = 150) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  if (!state.credentials) return;
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  try {
    await refreshClock();
    if (state.workspaceSid) await refreshWorkspace(state.workspaceSid);
    else renderEmpty();
  } catch (error) {
    sayError(error);
  } finally {
    state.refreshing = false;
    if (state.refreshAgain) {
      state.refreshAgain = false;
      scheduleRefresh(0);
    }
  }
}

async function refreshClock() {
  const clock = await api("GET", "/emulator/clock");
  $("#clock-now").textContent = clock.now;
  $("#clock-mode").textContent = clock.frozen ? "(frozen)" : "(running)";
}

async function refreshWorkspace(sid) {
  const [activities, workers, queues, workflows, channels, tasks] = await Promise.all([
    listAll(ws("/Activities"), "activities"),
    listAll(ws("/Workers"), "workers"),
    listAll(ws("/TaskQueues"), "task_queues"),
    listAll(ws("/Workflows"), "workflows"),
    listAll(ws("/TaskChannels"), "channels"),
    listAll(ws("/Tasks"), "tasks"),
  ]);
  const activeTasks = tasks.filter((t) => ACTIVE_TASK_STATUSES.includes(t.assignment_status));
  const [workerChannels, reservations] = await Promise.all([
    Promise.all(workers.map((w) => listAll(ws(`/Workers/${w.sid}/Channels`), "channels"))),
    Promise.all(activeTasks.map((t) => listAll(ws(`/Tasks/${t.sid}/Reservations`), "reservations"))),
  ]);
  if (sid !== state.workspaceSid) return; // the user switched workspace meanwhile
  // Rows are rebuilt only when their data changed, so an open drop-down or a button about to be
  // clicked is not swapped out from under the user by an unrelated event.
  renderIfChanged("workers", [workers, workerChannels, activities], () =>
    renderWorkers(workers, workerChannels, activities),
  );
  renderIfChanged("queues", [queues, tasks], () => renderQueues(queues, tasks));
  renderIfChanged("tasks", tasks, () => renderTasks(tasks));
  renderIfChanged("reservations", reservations, () => renderReservations(reservations.flat()));
  renderIfChanged("task-form", [workflows, channels], () => renderTaskForm(workflows, channels));
}

function renderIfChanged(name, data, render) {
  const fingerprint = JSON.stringify(data);
  if (state.rendered[name] === fingerprint) return;
  state.rendered[name] = fingerprint;
  render();
}

// ---- rendering -----------------------------------------------------------------------------------

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { colspan: columns, class: "empty" }, text));
}

function renderEmpty() {
  state.rendered = {};
  for (const table of ["#workers", "#queues", "#tasks", "#reservations"]) {
    $(`${table} tbody`).replaceChildren();
  }
}

function renderWorkers(workers, workerChannels, activities) {
  $("#workers-count").textContent = `(${workers.length})`;
  const rows = workers.map((worker, index) => {
    const select = el(
      "select",
      {
        "aria-label": `Activity of ${worker.friendly_name}`,
        dataset: { role: "activity", workerSid: worker.sid },
        onchange: (event) =>
          act(`Activity of ${worker.friendly_name} changed`, () =>
            api("POST", ws(`/Workers/${worker.sid}`), { ActivitySid: event.target.value }),
          ),
      },
      activities.map((a) =>
        el("option", { value: a.sid, selected: a.sid === worker.activity_sid }, a.friendly_name),
      ),
    );
    const channels = workerChannels[index]
      .filter((c) => c.configured_capacity > 0 || c.assigned_tasks > 0)
      .map((c) =>
        el(
          "div",
          { class: c.available ? "yes" : "no", dataset: { channel: c.task_channel_unique_name } },
          `${c.task_channel_unique_name} ${c.assigned_tasks}/${c.configured_capacity}`,
        ),
      );
    return el(
      "tr",
      { dataset: { workerSid: worker.sid } },
      el("td", {}, el("div", { class: "name" }, worker.friendly_name), el("div", { class: "mono muted" }, worker.sid)),
      el("td", { class: "activity" }, el("span", { class: "activity-name" }, worker.activity_name), " ", select),
      el("td", { class: worker.available ? "available yes" : "available no" }, worker.available ? "yes" : "no"),
      el("td", { class: "channels" }, channels),
      el("td", { class: "attributes mono" }, compactJson(worker.attributes)),
    );
  });
  $("#workers tbody").replaceChildren(...(rows.length ? rows : [emptyRow(5, "no workers")]));
}

function renderQueues(queues, tasks) {
  const rows = queues.map((queue) => {
    const waiting = tasks
      .filter((t) => t.task_queue_sid === queue.sid && WAITING_TASK_STATUSES.includes(t.assignment_status))
      .sort((a, b) => b.age - a.age);
    return el(
      "tr",
      { dataset: { queueSid: queue.sid } },
      el("td", {}, el("div", {}, queue.friendly_name), el("div", { class: "mono muted" }, queue.sid)),
      el("td", { class: "mono" }, queue.target_workers || "1==1"),
      el("td", { class: "waiting" }, String(waiting.length)),
      el("td", { class: "oldest" }, waiting.length ? formatAge(waiting[0].age) : "–"),
      el(
        "td",
        { class: "mono" },
        waiting.map((t) => el("div", { dataset: { taskSid: t.sid } }, `${t.sid} (${formatAge(t.age)}, ${t.assignment_status})`)),
      ),
    );
  });
  $("#queues tbody").replaceChildren(...(rows.length ? rows : [emptyRow(5, "no task queues")]));
}

function taskActions(task) {
  const update = (label, params) =>
    el(
      "button",
      {
        type: "button",
        dataset: { action: params.AssignmentStatus, taskSid: task.sid },
        onclick: () => act(`Task ${task.sid} ${params.AssignmentStatus}`, () => api("POST", ws(`/Tasks/${task.sid}`), params)),
      },
      label,
    );
  switch (task.assignment_status) {
    case "pending":
    case "reserved":
      return [update("Cancel", { AssignmentStatus: "canceled", Reason: "canceled in the inspector" })];
    case "assigned":
      return [
        update("Wrap up", { AssignmentStatus: "wrapping", Reason: "wrapped up in the inspector" }),
        update("Complete", { AssignmentStatus: "completed", Reason: "completed in the inspector" }),
      ];
    case "wrapping":
      return [update("Complete", { AssignmentStatus: "completed", Reason: "completed in the inspector" })];
    default:
      return [];
  }
}

function renderTasks(tasks) {
  $("#tasks-count").textContent = `(${tasks.length})`;
  const rows = tasks.map((task) =>
    el(
      "tr",
      { dataset: { taskSid: task.sid } },
      el("td", { class: "sid" }, task.sid),
      el("td", { class: `status status-${task.assignment_status}` }, task.assignment_status),
      el("td", { class: "actions nowrap" }, taskActions(task)),
      el("td", {}, task.task_queue_friendly_name || "–"),
      el("td", {}, task.workflow_friendly_name || "–"),
      el("td", {}, task.task_channel_unique_name || "–"),
      el("td", {}, String(task.priority)),
      el("td", {}, formatAge(task.age)),
      el("td", { class: "attributes mono" }, compactJson(task.attributes)),
    ),
  );
  $("#tasks tbody").replaceChildren(...(rows.length ? rows : [emptyRow(9, "no tasks")]));
}

function reservationActions(reservation) {
  const update = (label, status) =>
    el(
      "button",
      {
        type: "button",
        dataset: { action: label.toLowerCase(), reservationSid: reservation.sid },
        onclick: () =>
          act(`Reservation ${reservation.sid} ${status}`, () =>
            api("POST", ws(`/Tasks/${reservation.task_sid}/Reservations/${reservation.sid}`), {
              ReservationStatus: status,
            }),
          ),
      },
      label,
    );
  switch (reservation.reservation_status) {
    case "pending":
      return [update("Accept", "accepted"), update("Reject", "rejected")];
    case "accepted":
      return [update("Wrap", "wrapping"), update("Complete", "completed")];
    case "wrapping":
      return [update("Complete", "completed")];
    default:
      return [];
  }
}

function renderReservations(reservations) {
  const rows = reservations.map((reservation) =>
    el(
      "tr",
      { dataset: { reservationSid: reservation.sid } },
      el("td", { class: "sid" }, reservation.sid),
      el("td", { class: "sid" }, reservation.task_sid),
      el("td", {}, reservation.worker_name),
      el("td", { class: `status status-${reservation.reservation_status}` }, reservation.reservation_status),
      el("td", { class: "actions" }, reservationActions(reservation)),
    ),
  );
  $("#reservations tbody").replaceChildren(...(rows.length ? rows : [emptyRow(5, "no reservations")]));
}

function renderTaskForm(workflows, channels) {
  const keep = (select) => select.value;
  const workflowSelect = $("#task-workflow");
  const channelSelect = $("#task-channel");
  const workflow = keep(workflowSelect);
  const channel = keep(channelSelect);
  workflowSelect.replaceChildren(...workflows.map((w) => el("option", { value: w.sid }, w.friendly_name)));
  channelSelect.replaceChildren(
    el("option", { value: "" }, "(default)"),
    ...channels.map((c) => el("option", { value: c.unique_name }, c.unique_name)),
  );
  if (workflows.some((w) => w.sid === workflow)) workflowSelect.value = workflow;
  if (channels.some((c) => c.unique_name === channel)) channelSelect.value = channel;
}

// ---- actions -------------------------------------------------------------------------------------

async function act(description, action) {
  try {
    await action();
    say(description);
  } catch (error) {
    sayError(error);
  }
  scheduleRefresh(0);
}

// ---- live event feed (server-sent events read with fetch, so the request can carry Basic auth) --

function stopFeed() {
  if (state.feed) state.feed.abort();
  state.feed = null;
}

function startFeed() {
  stopFeed();
  if (!state.workspaceSid) {
    $("#feed-status").textContent = "not connected";
    return;
  }
  const controller = new AbortController();
  state.feed = controller;
  followFeed(state.workspaceSid, controller.signal);
}

async function followFeed(workspaceSid, signal) {
  let lastId = null;
  let retryMs = 1000;
  while (!signal.aborted) {
    const query = new URLSearchParams({ WorkspaceSid: workspaceSid });
    if (lastId !== null) query.set("After", lastId);
    try {
      const response = await fetch(`/emulator/ui/events?${query}`, {
        credentials: "omit",
        headers: { Authorization: authHeader(), Accept: "text/event-stream" },
        signal,
      });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      $("#feed-status").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = parseMessage(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (message.retry) retryMs = message.retry;
          if (message.id !== null) lastId = message.id;
          if (message.data) showEvent(JSON.parse(message.data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      $("#feed-status").textContent = `reconnecting (${error.message})`;
    }
    if (signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

function parseMessage(block) {
  const message = { id: null, data: "", retry: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") message.id = value;
    else if (field === "data") data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
  }
  message.data = data.join("\n");
  return message;
}

function showEvent(event) {
  const list = $("#events");
  list.prepend(
    el(
      "li",
      { dataset: { eventType: event.event_type, eventSid: event.sid } },
      el("span", { class: "mono muted" }, event.event_date),
      el("span", { class: "type" }, event.event_type),
      el("span", {}, event.description),
      el("span", { class: "mono muted" }, event.resource_sid),
    ),
  );
  while (list.children.length > 500) list.lastElementChild.remove();
  scheduleRefresh();
}

// ---- wiring --------------------------------------------------------------------------------------

function wire() {
  $("#login").addEventListener("submit", (event) => {
    event.preventDefault();
    login({ accountSid: $("#account-sid").value.trim(), token: $("#auth-token").value });
  });
  $("#logout").addEventListener("click", () => logout("Logged out."));
  $("#workspace").addEventListener("change", (event) => selectWorkspace(event.target.value || null));
  $("#refresh").addEventListener("click", () => scheduleRefresh(0));
  $("#new-workspace").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("POST", "/v1/Workspaces", {
        FriendlyName: $("#new-workspace-name").value,
        Template: "FIFO",
      });
      $("#new-workspace-name").value = "";
      say(`Workspace ${created.sid} created`);
      await loadWorkspaces(created.sid);
    } catch (error) {
      sayError(error);
    }
  });
  $("#advance-clock").addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = $("#advance-seconds").value;
    act(`Clock advanced by ${seconds} s`, () => api("POST", "/emulator/clock", { Advance: seconds }));
  });
  $("#create-task").addEventListener("submit", (event) => {
    event.preventDefault();
    act("Task created", () =>
      api("POST", ws("/Tasks"), {
        WorkflowSid: $("#task-workflow").value,
        TaskChannel: $("#task-channel").value,
        Priority: $("#task-priority").value,
        Timeout: $("#task-timeout").value,
        Attributes: $("#task-attributes").value,
      }),
    );
  });
  const saved = loadCredentials();
  if (saved && saved.accountSid && saved.token) login(saved);
  else logout();
}

document.addEventListener("DOMContentLoaded", wire);
