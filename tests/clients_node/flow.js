// Drives the emulator with twilio-node: workspace, worker, queue, workflow, task, accept, complete,
// a multi-page list and an error. Run by tests/clients/test_node.py with TASKROUTER_URL,
// ACCOUNT_SID and AUTH_TOKEN set; prints one JSON line for the test to check against the server.
"use strict";

const twilio = require("twilio");

(async () => {
  const client = twilio(process.env.ACCOUNT_SID, process.env.AUTH_TOKEN);
  client.taskrouter.baseUrl = process.env.TASKROUTER_URL;
  const v1 = client.taskrouter.v1;

  const ws = await v1.workspaces.create({ friendlyName: "Node support" });
  const workspace = v1.workspaces(ws.sid);
  const activities = await workspace.activities.list();
  const available = activities.find((a) => a.friendlyName === "Available");
  const offline = activities.find((a) => a.friendlyName === "Offline");

  const worker = await workspace.workers.create({
    friendlyName: "Ada Node",
    activitySid: available.sid,
    attributes: JSON.stringify({ skills: ["support"], languages: ["en"] }),
  });
  const queue = await workspace.taskQueues.create({
    friendlyName: "Support queue",
    targetWorkers: 'skills HAS "support"',
  });
  const workflow = await workspace.workflows.create({
    friendlyName: "Support workflow",
    configuration: JSON.stringify({
      task_routing: {
        filters: [{ filter_friendly_name: "support", expression: 'type == "support"', targets: [{ queue: queue.sid }] }],
        default_filter: { queue: queue.sid },
      },
    }),
    taskReservationTimeout: 60,
  });

  const task = await workspace.tasks.create({
    workflowSid: workflow.sid,
    attributes: JSON.stringify({ type: "support", customer: "Grace" }),
  });
  const [reservation] = await workspace.tasks(task.sid).reservations.list();
  const accepted = await workspace
    .tasks(task.sid)
    .reservations(reservation.sid)
    .update({ reservationStatus: "accepted" });
  const assigned = await workspace.tasks(task.sid).fetch();
  const completed = await workspace
    .tasks(task.sid)
    .update({ assignmentStatus: "completed", reason: "resolved by node" });

  // Five more workers, then page through all six two at a time, following next_page_url.
  for (let i = 1; i <= 5; i += 1) {
    await workspace.workers.create({ friendlyName: `Extra ${i}`, activitySid: offline.sid });
  }
  const pagedSids = [];
  let pages = 0;
  let page = await workspace.workers.page({ pageSize: 2 });
  while (page) {
    pages += 1;
    pagedSids.push(...page.instances.map((w) => w.sid));
    page = await page.nextPage();
  }
  const listedSids = (await workspace.workers.list({ pageSize: 2 })).map((w) => w.sid);
  const eachSids = [];
  await workspace.workers.each({ pageSize: 4 }, (w) => eachSids.push(w.sid));

  let missing = null;
  try {
    await workspace.workers(`WK${"0".repeat(32)}`).fetch();
  } catch (err) {
    missing = { status: err.status, code: err.code, message: err.message };
  }

  console.log(
    JSON.stringify({
      workspace: ws.sid,
      worker: worker.sid,
      queue: queue.sid,
      workflow: workflow.sid,
      task: task.sid,
      taskStatusAtCreation: task.assignmentStatus,
      reservation: reservation.sid,
      reservationStatusAtList: reservation.reservationStatus,
      acceptedStatus: accepted.reservationStatus,
      assignedStatus: assigned.assignmentStatus,
      completedStatus: completed.assignmentStatus,
      completedReason: completed.reason,
      pages,
      pagedSids,
      listedSids,
      eachSids,
      missing,
    }),
  );
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
