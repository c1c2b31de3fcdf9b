// The request → approve flow through a client generated from openapi.yaml (openapi-typescript types,
// openapi-fetch calls): an admin creates a flow, a requester in its visibility group asks for access,
// the requester's manager approves, and the requester holds the grant. No hand-written API types:
// every request body and response below is typed by ./generated/api.d.ts, and `tsc --strict` checks it.
//
// Environment: PORTCULLIS_URL, and tokens ADMIN_TOKEN, REQUESTER_TOKEN, APPROVER_TOKEN.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

type Schemas = components["schemas"];

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function clientFor(token: string) {
  return createClient<paths>({
    baseUrl: env("PORTCULLIS_URL"),
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** The body of a successful answer, or a failure naming the step and the problem document. */
function expectOk<T>(step: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${step}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  console.log(`ok  ${step} (HTTP ${result.response.status})`);
  return result.data;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const admin = clientFor(env("ADMIN_TOKEN"));
const requester = clientFor(env("REQUESTER_TOKEN"));
const approver = clientFor(env("APPROVER_TOKEN"));
const run = `ts-${Date.now()}`;

const me: Schemas["MeResponse"] = expectOk("admin: GET /v1/me", await admin.GET("/v1/me"));
check(me.is_admin, "the admin token belongs to an administrator");

const groups = expectOk(
  "admin: GET /v1/groups?q=Engineering",
  await admin.GET("/v1/groups", { params: { query: { q: "Engineering" } } }),
);
const engineering = groups.items.find((group) => group.name === "Engineering");
check(engineering !== undefined, "the demo group Engineering exists");

const target: Schemas["GroupResponse"] = expectOk(
  "admin: POST /v1/groups",
  await admin.POST("/v1/groups", {
    body: { name: `Contract ${run}`, description: "Target group of the TypeScript client check" },
  }),
);

const flowBody: Schemas["CreateFlowRequest"] = {
  kind: "resource_request",
  name: `Contract check ${run}`,
  description: "Created by the generated TypeScript client",
  enabled: true,
  display: { color: "#3178c6" },
  target_group_id: target.id,
  owner_ids: [],
  visibility_group_ids: [engineering.id],
  timed_access: { mode: "choices", durations_seconds: [3600, 7200] },
  approval_type: "manual",
  approvers: [{ type: "requester_manager" }],
  approver_requirement: "all",
};
const flow = expectOk("admin: POST /v1/approval-flows", await admin.POST("/v1/approval-flows", { body: flowBody }));
check(flow.approvers[0]?.type === "requester_manager", "the flow keeps its approver spec");

const catalog = expectOk("requester: GET /v1/catalog", await requester.GET("/v1/catalog"));
check(
  catalog.items.some((entry) => entry.flow_id === flow.id),
  "the requester sees the new flow in the catalog",
);

// Who approves: the requester's manager, in the requester's own record, found again by the people search.
const self = expectOk("requester: GET /v1/me", await requester.GET("/v1/me"));
const manager = self.manager;
check(manager, "the demo requester has a manager");
const people = expectOk(
  "requester: GET /v1/people?q=",
  await requester.GET("/v1/people", { params: { query: { q: manager.email } } }),
);
check(
  people.items.some((person) => person.id === manager.id),
  "the people search finds the requester's manager",
);

const created = expectOk(
  "requester: POST /v1/access-requests",
  await requester.POST("/v1/access-requests", {
    body: { flow_id: flow.id, reason: "Contract check of the generated TypeScript client", duration_seconds: 3600 },
    params: { header: { "Idempotency-Key": run } },
  }),
);
check(created.status === "pending", `the new request is pending (got ${created.status})`);

const tasks = expectOk("approver: GET /v1/me/tasks", await approver.GET("/v1/me/tasks"));
check(
  tasks.items.some((task) => task.action === "approve" && task.access_request?.id === created.id),
  "the request is among the approver's actions, to approve",
);

const approved = expectOk(
  "approver: POST /v1/access-requests/{id}/approve",
  await approver.POST("/v1/access-requests/{id}/approve", {
    params: { path: { id: created.id } },
    body: { comment: "Approved by the contract check" },
  }),
);
check(approved.status === "approved", `the request is approved (got ${approved.status})`);
check(approved.decision?.decision === "approve", "the decision is recorded");

const detail = expectOk(
  "requester: GET /v1/access-requests/{id}",
  await requester.GET("/v1/access-requests/{id}", { params: { path: { id: created.id } } }),
);
check(detail.grant?.group_id === target.id, "the request carries the grant of the target group");

const grants = expectOk("requester: GET /v1/me/grants", await requester.GET("/v1/me/grants"));
check(
  grants.items.some((grant) => grant.request_id === created.id && grant.status === "active"),
  "the requester holds an active grant from the request",
);

console.log(`TypeScript client: request ${created.id} approved; grant active until ${detail.grant?.expires_at}`);
