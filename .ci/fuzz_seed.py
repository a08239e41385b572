"""Seed data for .ci/fuzz: what the stateful phase cannot create from the schema.

A JSON Schema can say what a well-formed id looks like, not which ids name
something. Schemathesis makes its own audiences, campaigns, endpoints... and
follows the document's links from them, but a create whose body must name other
resources (a campaign names an audience and its leads, a reply a prospect, a scan
a signal specification) only succeeds when those exist, and the approval routes
need a campaign lead that waits for approval, which only a running campaign makes.
This script makes them through the public API of the server under test, as a user
would, and prints `NAME=value` lines that .ci/fuzz exports for
.ci/schemathesis.toml (the body and path overrides).

It needs no wall clock beyond waiting for the server's own workers: the Demo
account works around the clock (working hours 00:00-24:00) and every wait is
bounded (`WAIT_S`), after which it fails saying what it waited for.

    python fuzz_seed.py BASE_URL GROUP_ID API_KEY
"""

import json
import sys
import time
import urllib.error
import urllib.request

WAIT_S = 120


def main(base, group, key):
    api = Api(f"{base}/v1/accounts/{group}", key)
    out = {}

    # An audience of prospects, imported from a LinkedIn search (the sandbox answers it).
    job = api.post(
        "/prospecting",
        {
            "type": "linkedin_search",
            "name": "Fuzz seed",
            "searchUrl": "https://www.linkedin.com/search/results/people/?keywords=founder",
            "maxResults": 6,
        },
    )
    job = api.wait(f"/prospecting/{job['jobId']}", lambda j: j["status"] == "completed", "the seed import")
    audience = job["audienceId"]
    prospects = [p["id"] for p in api.get(f"/audiences/{audience}/prospects?limit=100")["items"]]
    if len(prospects) < 6:
        fail(f"the seed import gave {len(prospects)} prospects, not 6")
    out["AUDIENCE"] = audience
    out["PROSPECT"] = prospects[0]
    out["LEAD"] = prospects[5]

    # A prospect someone has a conversation with, for replies: the participant of
    # a conversation of the sandbox inbox, imported by its profile URL.
    messages = api.wait("/messages?limit=100", lambda m: m["items"], "the inbox sync")["items"]
    message = messages[0]
    upload = api.post(
        "/prospecting",
        {
            "type": "url_upload",
            "name": "Fuzz seed conversation",
            "profileUrls": [f"https://www.linkedin.com/in/{message['participantProviderId']}"],
        },
    )
    upload = api.wait(f"/prospecting/{upload['jobId']}", lambda j: j["status"] == "completed", "the URL upload")
    contact = api.get(f"/audiences/{upload['audienceId']}/prospects?limit=1")["items"]
    if not contact:
        fail("the URL upload imported nobody")
    out["CONTACT"] = contact[0]["id"]
    out["CONVERSATION"] = message["conversationId"]

    # References the creates of other resources name.
    out["VALUE_PROPOSITION"] = api.post("/value-propositions", {"name": "Fuzz seed"})["id"]
    out["SIGNAL_SPECIFICATION"] = api.post(
        "/signal-specifications", {"name": "Fuzz seed", "sources": ["linkedin_posts"]}
    )["id"]
    out["FOLDER"] = api.post("/audiences/folders", {"name": "Fuzz seed", "audienceType": "on_demand"})["id"]
    style = api.post(
        "/writing-styles",
        {
            "name": "Fuzz seed (fallback only)",
            "contentType": "connection_request",
            "samples": [{"type": "fallback", "message": "Hi, glad to connect."}],
        },
    )
    out["WRITING_STYLE"] = style["id"]

    # A draft campaign whose content slot the fuzzer may relink.
    draft = api.post(
        "/campaigns",
        {"starterTemplateId": "connect", "name": "Fuzz seed draft", "audienceId": audience, "leadIds": [prospects[4]]},
    )
    out["DRAFT_CAMPAIGN"] = draft["id"]
    out["SLOT"] = api.get(f"/campaigns/{draft['id']}/content-slots")["items"][0]["id"]

    # A running campaign whose invitation note has only a fallback sample, so each
    # lead waits for approval: one instance for approve, one for discard.
    gated = api.post(
        "/campaigns",
        {"starterTemplateId": "connect", "name": "Fuzz seed gated", "audienceId": audience, "leadIds": prospects[1:3]},
    )
    slot = api.get(f"/campaigns/{gated['id']}/content-slots")["items"][0]["id"]
    api.patch(f"/campaigns/{gated['id']}/content-slots/{slot}", {"templateId": style["id"]})
    api.post(f"/campaigns/{gated['id']}/start", None)
    status = f"/campaigns/{gated['id']}/lead-status?leadIds={prospects[1]},{prospects[2]}"
    rows = api.wait(
        status,
        lambda s: len([r for r in s["items"] if r["hasPendingApproval"]]) == 2,
        "both gated leads to wait for approval",
    )["items"]
    out["GATED_CAMPAIGN"] = gated["id"]
    out["APPROVE_INSTANCE"] = rows[0]["workflowInstanceId"]
    out["DISCARD_INSTANCE"] = rows[1]["workflowInstanceId"]

    for name, value in out.items():
        print(f"SONARLY_FUZZ_{name}={value}")


class Api:
    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, body):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)["data"]
        except urllib.error.HTTPError as error:
            fail(f"{method} {path} answered {error.code}: {error.read().decode(errors='replace')}")

    def get(self, path):
        return self.call("GET", path, None)

    def post(self, path, body):
        return self.call("POST", path, body)

    def patch(self, path, body):
        return self.call("PATCH", path, body)

    def wait(self, path, done, what):
        deadline = time.monotonic() + WAIT_S
        while True:
            value = self.get(path)
            if done(value):
                return value
            if time.monotonic() > deadline:
                fail(f"gave up after {WAIT_S} s waiting for {what}; last answer of GET {path}: {json.dumps(value)}")
            time.sleep(0.2)


def fail(message):
    print(f"fuzz seed: {message}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: fuzz_seed.py BASE_URL GROUP_ID API_KEY")
    main(*sys.argv[1:])
