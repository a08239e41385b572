// A program that uses the TypeScript client generated from docs/openapi.json
// (openapi-typescript for the types, openapi-fetch for the calls) against a
// live server: every step checks what it got and exits non-zero otherwise.
//
//   SONARLY_URL=http://127.0.0.1:8080 SONARLY_API_KEY=sk_live_... npm run example
//
// It needs a group with a connected LinkedIn account and a conversation in its
// inbox, as the Demo group of `sonarly serve` has (.ci/clients runs it so).
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/sonarly.js";

type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];

const baseUrl = process.env.SONARLY_URL ?? "http://127.0.0.1:8080";
const apiKey = process.env.SONARLY_API_KEY;
if (!apiKey) fail("set SONARLY_API_KEY");

const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

function fail(message: string): never {
  console.error(`typescript client: FAILED: ${message}`);
  process.exit(1);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/** The data of a successful answer, or a failure naming the error's code. */
function ok<T>(what: string, result: { data?: { data: T }; error?: ErrorEnvelope; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    fail(`${what}: HTTP ${result.response.status} ${result.error?.error.code}: ${result.error?.error.message}`);
  }
  return result.data.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// 1. The account groups this key can see.
const accounts = ok("list accounts", await client.GET("/v1/accounts"));
check(accounts.items.length > 0, "list accounts: no account group");
const accountGroupId = accounts.items[0].id;
const path = { accountGroupId };
console.log(`typescript client: ${accounts.items.length} account group(s), using ${accountGroupId}`);

// 2. Audiences, one page at a time, following nextCursor.
const created: string[] = [];
for (const name of ["TS client A", "TS client B", "TS client C"]) {
  const audience = ok(
    "create an audience",
    await client.POST("/v1/accounts/{accountGroupId}/audiences", {
      params: { path },
      body: { name, type: "on_demand" },
    }),
  );
  created.push(audience.id);
}
const seen: string[] = [];
let cursor: string | undefined;
let pages = 0;
for (;;) {
  const page = ok(
    "list audiences",
    await client.GET("/v1/accounts/{accountGroupId}/audiences", {
      params: { path, query: { limit: 1, cursor } },
    }),
  );
  pages += 1;
  check(pages <= 1000, "list audiences: more than 1000 pages");
  seen.push(...page.items.map((audience) => audience.id));
  if (!page.nextCursor) {
    check(!page.hasMore, "list audiences: hasMore without a nextCursor");
    break;
  }
  cursor = page.nextCursor;
}
check(new Set(seen).size === seen.length, `list audiences: an audience on two pages: ${seen}`);
for (const id of created) check(seen.includes(id), `list audiences: ${id} is on no page`);
console.log(`typescript client: ${seen.length} audiences over ${pages} pages of 1`);

// 3. A prospecting job with an Idempotency-Key: the participant of a conversation
// in the inbox, imported by its profile URL; the retry answers the same job.
const messages = ok(
  "list messages",
  await client.GET("/v1/accounts/{accountGroupId}/messages", { params: { path, query: { limit: 20 } } }),
);
const message = messages.items.find((item) => item.participantProviderId);
check(message?.participantProviderId, "list messages: no message with a participant in the inbox");
const idempotencyKey = randomUUID();
const startJob = () =>
  client.POST("/v1/accounts/{accountGroupId}/prospecting", {
    params: { path, header: { "Idempotency-Key": idempotencyKey } },
    body: {
      type: "url_upload",
      name: "TypeScript client",
      profileUrls: [`https://www.linkedin.com/in/${message.participantProviderId}`],
    },
  });
const job = ok("start a prospecting job", await startJob());
const retried = ok("start a prospecting job again with the same Idempotency-Key", await startJob());
check(retried.jobId === job.jobId, `the retry started another job (${retried.jobId}, not ${job.jobId})`);
let status = ok("get the job", await client.GET("/v1/accounts/{accountGroupId}/prospecting/{jobId}", {
  params: { path: { ...path, jobId: job.jobId } },
}));
const deadline = Date.now() + 120_000;
while (["queued", "running"].includes(status.status)) {
  check(Date.now() < deadline, `the job is still ${status.status} after 120 s`);
  await sleep(200);
  status = ok("get the job", await client.GET("/v1/accounts/{accountGroupId}/prospecting/{jobId}", {
    params: { path: { ...path, jobId: job.jobId } },
  }));
}
check(status.status === "completed", `the job ended ${status.status}: ${JSON.stringify(status.error)}`);
check(status.importedCount === 1, `the job imported ${status.importedCount} prospects, not 1`);
console.log(`typescript client: job ${job.jobId} completed, audience ${status.audienceId}`);

// 4. A scheduled response to that prospect, in the existing conversation.
const prospects = ok(
  "list the audience's prospects",
  await client.GET("/v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects", {
    params: { path: { ...path, audienceId: status.audienceId } },
  }),
);
check(prospects.items.length === 1, `the audience has ${prospects.items.length} prospects, not 1`);
const response = ok(
  "queue a response",
  await client.POST("/v1/accounts/{accountGroupId}/messages/responses", {
    params: { path },
    body: {
      prospectId: prospects.items[0].id,
      conversationId: message.conversationId,
      message: "Thanks, happy to talk next week.",
    },
  }),
);
check(
  ["queued", "sending", "sent"].includes(response.status),
  `the response is ${response.status}, not queued`,
);
const again = ok(
  "get the response",
  await client.GET("/v1/accounts/{accountGroupId}/messages/responses/{responseId}", {
    params: { path: { ...path, responseId: response.id } },
  }),
);
check(again.id === response.id, "get the response: another id");
console.log(`typescript client: response ${response.id} ${response.status}, scheduled at ${response.scheduledAt}`);

// 5. Errors: their code, read from the typed error body.
const missing = await client.GET("/v1/accounts/{accountGroupId}/audiences/{audienceId}", {
  params: { path: { ...path, audienceId: "aud_does_not_exist" } },
});
check(missing.response.status === 404, `a missing audience answered ${missing.response.status}`);
check(missing.error?.error.code === "NOT_FOUND", `a missing audience: code ${missing.error?.error.code}`);
const invalid = await client.POST("/v1/accounts/{accountGroupId}/messages/responses", {
  params: { path },
  body: { prospectId: prospects.items[0].id, message: "" },
});
check(invalid.response.status === 400, `an empty message answered ${invalid.response.status}`);
check(invalid.error?.error.code === "VALIDATION_ERROR", `an empty message: code ${invalid.error?.error.code}`);
check(
  invalid.error.error.fields?.some((field) => field.field === "message"),
  `an empty message: no issue names the field: ${JSON.stringify(invalid.error.error)}`,
);
console.log(`typescript client: errors read: ${missing.error.error.code}, ${invalid.error.error.code}`);
console.log("typescript client: passed");
