"""A program that uses the Python client generated from docs/openapi.json by
openapi-python-client (pinned in .ci/clients) against a live server: every step
checks what it got and exits non-zero otherwise.

    SONARLY_URL=http://127.0.0.1:8080 SONARLY_API_KEY=sk_live_... python example.py

The generated package `sonarly_client` must be importable (.ci/clients generates
it and sets PYTHONPATH). The program needs a group with a connected LinkedIn
account and a conversation in its inbox, as the Demo group of `sonarly serve` has.
"""

import os
import sys
import time
import uuid
from typing import NoReturn, TypeVar

from sonarly_client import AuthenticatedClient
from sonarly_client.api.accounts import list_accounts
from sonarly_client.api.audiences import create_audience, get_audience, list_audience_prospects, list_audiences
from sonarly_client.api.messages import get_response, list_messages, queue_response
from sonarly_client.api.prospecting import get_job, start_job
from sonarly_client.models import (
    CreateAudienceBody,
    CreateAudienceBodyType,
    ErrorEnvelope,
    QueueResponseBody,
    StartJobBody,
    StartJobBodyType,
)
from sonarly_client.types import UNSET, Response, Unset

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    print(f"python client: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: object, message: str) -> None:
    if not condition:
        fail(message)


def ok(what: str, response: Response[T | ErrorEnvelope]) -> T:
    """The parsed body of a successful answer, or a failure naming the error's code."""
    parsed = response.parsed
    if isinstance(parsed, ErrorEnvelope):
        fail(f"{what}: HTTP {response.status_code} {parsed.error.code}: {parsed.error.message}")
    if parsed is None or response.status_code >= 300:
        fail(f"{what}: HTTP {response.status_code}: {response.content[:500]!r}")
    return parsed


def error_of(what: str, response: Response[T | ErrorEnvelope], status: int) -> ErrorEnvelope:
    """The typed error of an answer that must fail with `status`."""
    check(response.status_code == status, f"{what}: HTTP {response.status_code}, not {status}")
    check(isinstance(response.parsed, ErrorEnvelope), f"{what}: the body is not an error envelope")
    assert isinstance(response.parsed, ErrorEnvelope)
    return response.parsed


def main() -> None:
    base_url = os.environ.get("SONARLY_URL", "http://127.0.0.1:8080")
    api_key = os.environ.get("SONARLY_API_KEY") or fail("set SONARLY_API_KEY")
    client = AuthenticatedClient(base_url=base_url, token=api_key, raise_on_unexpected_status=True)

    # 1. The account groups this key can see.
    accounts = ok("list accounts", list_accounts.sync_detailed(client=client)).data
    check(accounts.items, "list accounts: no account group")
    group = accounts.items[0].id
    print(f"python client: {len(accounts.items)} account group(s), using {group}")

    # 2. Audiences, one page at a time, following next_cursor.
    created = []
    for name in ("Python client A", "Python client B", "Python client C"):
        body = CreateAudienceBody(name=name, type_=CreateAudienceBodyType.ON_DEMAND)
        created.append(ok("create an audience", create_audience.sync_detailed(group, client=client, body=body)).data.id)
    seen: list[str] = []
    cursor: str | Unset = UNSET
    pages = 0
    while True:
        page = ok(
            "list audiences", list_audiences.sync_detailed(group, client=client, limit=1, cursor=cursor)
        ).data
        pages += 1
        check(pages <= 1000, "list audiences: more than 1000 pages")
        seen.extend(audience.id for audience in page.items)
        if not isinstance(page.next_cursor, str):
            check(not page.has_more, "list audiences: has_more without a next_cursor")
            break
        cursor = page.next_cursor
    check(len(set(seen)) == len(seen), f"list audiences: an audience on two pages: {seen}")
    for audience_id in created:
        check(audience_id in seen, f"list audiences: {audience_id} is on no page")
    print(f"python client: {len(seen)} audiences over {pages} pages of 1")

    # 3. A prospecting job with an Idempotency-Key: the participant of a conversation
    # in the inbox, imported by its profile URL; the retry answers the same job.
    messages = ok("list messages", list_messages.sync_detailed(group, client=client, limit=20)).data
    message = next((m for m in messages.items if isinstance(m.participant_provider_id, str)), None)
    if message is None or not isinstance(message.participant_provider_id, str):
        fail("list messages: no message with a participant in the inbox")
    job_body = StartJobBody(
        name="Python client",
        type_=StartJobBodyType.URL_UPLOAD,
        profile_urls=[f"https://www.linkedin.com/in/{message.participant_provider_id}"],
    )
    key = str(uuid.uuid4())
    job = ok(
        "start a prospecting job",
        start_job.sync_detailed(group, client=client, body=job_body, idempotency_key=key),
    ).data
    retried = ok(
        "start a prospecting job again with the same Idempotency-Key",
        start_job.sync_detailed(group, client=client, body=job_body, idempotency_key=key),
    ).data
    check(retried.job_id == job.job_id, f"the retry started another job ({retried.job_id}, not {job.job_id})")
    status = ok("get the job", get_job.sync_detailed(group, job.job_id, client=client)).data
    deadline = time.monotonic() + 120
    while status.status in ("queued", "running"):
        check(time.monotonic() < deadline, f"the job is still {status.status} after 120 s")
        time.sleep(0.2)
        status = ok("get the job", get_job.sync_detailed(group, job.job_id, client=client)).data
    check(status.status == "completed", f"the job ended {status.status}: {status.error}")
    check(status.imported_count == 1, f"the job imported {status.imported_count} prospects, not 1")
    print(f"python client: job {job.job_id} completed, audience {status.audience_id}")

    # 4. A scheduled response to that prospect, in the existing conversation.
    prospects = ok(
        "list the audience's prospects",
        list_audience_prospects.sync_detailed(group, status.audience_id, client=client),
    ).data
    check(len(prospects.items) == 1, f"the audience has {len(prospects.items)} prospects, not 1")
    prospect_id = prospects.items[0].id
    response = ok(
        "queue a response",
        queue_response.sync_detailed(
            group,
            client=client,
            body=QueueResponseBody(
                prospect_id=prospect_id,
                conversation_id=message.conversation_id,
                message="Thanks, happy to talk next week.",
            ),
        ),
    ).data
    check(response.status in ("queued", "sending", "sent"), f"the response is {response.status}, not queued")
    again = ok("get the response", get_response.sync_detailed(group, response.id, client=client)).data
    check(again.id == response.id, "get the response: another id")
    print(f"python client: response {response.id} {response.status}, scheduled at {response.scheduled_at}")

    # 5. Errors: their code, read from the typed error body.
    missing = error_of(
        "a missing audience", get_audience.sync_detailed(group, "aud_does_not_exist", client=client), 404
    )
    check(missing.error.code == "NOT_FOUND", f"a missing audience: code {missing.error.code}")
    invalid = error_of(
        "an empty message",
        queue_response.sync_detailed(
            group, client=client, body=QueueResponseBody(prospect_id=prospect_id, message="")
        ),
        400,
    )
    check(invalid.error.code == "VALIDATION_ERROR", f"an empty message: code {invalid.error.code}")
    fields = invalid.error.fields if isinstance(invalid.error.fields, list) else []
    check(
        any(field.field == "message" for field in fields),
        f"an empty message: no issue names the field: {invalid.error.to_dict()}",
    )
    print(f"python client: errors read: {missing.error.code}, {invalid.error.code}")
    print("python client: passed")


if __name__ == "__main__":
    main()
