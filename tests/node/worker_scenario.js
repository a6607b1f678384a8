// Drives the real twilio-taskrouter Worker SDK against the emulator's event bridge.
// Run by tests/sdk/test_bridge_node.py, which passes the URLs and credentials in the environment and
// checks the final state through the REST API. Prints one JSON line with what it saw; exit 0 = pass.
'use strict';
const assert = require('node:assert/strict');
const { Worker } = require('twilio-taskrouter');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
};
const BASE = env('EMULATOR_URL');
const EB = `${BASE}/v1/wschannels`;
const WS = EB.replace(/^http/, 'ws');
const WORKSPACE = env('WORKSPACE_SID');
const WORKFLOW = env('WORKFLOW_SID');
const AUTH = 'Basic ' + Buffer.from(`${env('API_KEY_SID')}:${env('API_KEY_SECRET')}`).toString('base64');

function once(emitter, event, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (value) => { clearTimeout(timer); resolve(value); });
  });
}

// Waits for an event whose value passes `check` (earlier events of the same kind may still arrive).
function until(emitter, event, check, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    const listener = (value) => {
      if (!check(value)) return;
      clearTimeout(timer);
      emitter.removeListener(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}

async function rest(method, path, form) {
  const response = await fetch(`${BASE}/v1/Workspaces/${WORKSPACE}${path}`, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function refusedWorker() {
  // A token signed with the wrong secret: the socket is refused, so the SDK reports an error.
  const worker = new Worker(env('BAD_TOKEN'), { ebServer: EB, wsServer: WS, logLevel: 'silent' });
  const error = await once(worker, 'error');
  worker.disconnect();
  const direct = await fetch(EB, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', apiVersion: 'v1' },
    body: JSON.stringify({ url: `Workspaces/${WORKSPACE}/Activities`, method: 'GET', params: {}, token: env('BAD_TOKEN') }),
  });
  return { sdkError: error.name || String(error), restStatus: direct.status };
}

async function main() {
  const seen = {};
  const worker = new Worker(env('WORKER_TOKEN'), { ebServer: EB, wsServer: WS, logLevel: 'error' });
  worker.on('error', (err) => { seen.lastError = String(err && err.message); });
  await once(worker, 'ready');
  seen.readyActivity = worker.activity.name;
  seen.activities = Array.from(worker.activities.values()).map((a) => a.name).sort();
  seen.channels = Array.from(worker.channels.values()).map((c) => c.taskChannelUniqueName).sort();

  // A task created through REST reaches the worker as reservationCreated.
  const created = once(worker, 'reservationCreated');
  const task = await rest('POST', '/Tasks', { WorkflowSid: WORKFLOW, Attributes: JSON.stringify({ type: 'support' }) });
  const reservation = await created;
  assert.equal(reservation.task.sid, task.sid);
  assert.equal(reservation.status, 'pending');
  assert.deepEqual(reservation.task.attributes, { type: 'support' });
  seen.reservationSid = reservation.sid;
  seen.taskSid = task.sid;

  // Accept through the bridge; the accepted event follows on the socket.
  const acceptedEvent = once(reservation, 'accepted');
  await reservation.accept();
  assert.equal(reservation.status, 'accepted');
  await acceptedEvent;
  assert.equal(reservation.task.status, 'assigned');

  // Complete the task: the task and the reservation report it.
  const taskCompleted = once(reservation.task, 'completed');
  const reservationCompleted = once(reservation, 'completed');
  await reservation.task.complete('resolved');
  await taskCompleted;
  await reservationCompleted;
  seen.taskStatus = reservation.task.status;
  seen.reservationStatus = reservation.status;

  // Attributes, through the bridge and then from the REST API (pushed as attributesUpdated).
  await worker.setAttributes({ languages: ['en'], level: 2 });
  assert.deepEqual(worker.attributes, { languages: ['en'], level: 2 });
  const attributesPushed = until(worker, 'attributesUpdated', (w) => w.attributes.level === 3);
  await rest('POST', `/Workers/${worker.sid}`, { Attributes: JSON.stringify({ languages: ['en', 'fr'], level: 3 }) });
  await attributesPushed;
  assert.deepEqual(worker.attributes, { languages: ['en', 'fr'], level: 3 });

  // Activity, through the bridge and then from the REST API (pushed as activityUpdated).
  const awayActivity = Array.from(worker.activities.values()).find((a) => a.name === 'Unavailable');
  await awayActivity.setAsCurrent();
  assert.equal(worker.activity.name, 'Unavailable');
  const activityPushed = until(worker, 'activityUpdated', (w) => w.activity.name === 'Offline');
  const offline = Array.from(worker.activities.values()).find((a) => a.name === 'Offline');
  await rest('POST', `/Workers/${worker.sid}`, { ActivitySid: offline.sid });
  await activityPushed;
  seen.pushedActivity = worker.activity.name;
  await awayActivity.setAsCurrent();
  seen.finalActivity = worker.activity.name;
  seen.finalAttributes = worker.attributes;

  worker.disconnect();
  seen.refused = await refusedWorker();
  process.stdout.write(JSON.stringify(seen) + '\n');
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
