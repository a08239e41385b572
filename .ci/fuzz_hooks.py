"""Schemathesis hooks for .ci/fuzz: the narrow exceptions to "valid data is accepted".

A JSON Schema says what a well-formed request looks like. It cannot say that an id
names something that exists, or that two fields exclude each other. The server
refuses such requests with 400 (or 422 on the routes whose pages say so) naming each
field, by rules docs/decisions.md records and the operations' descriptions state.
Only those answers are dropped here: the failure must be ST202 ("schema-valid request
rejected"), the answer a VALIDATION_ERROR, and every field it names must carry one of
the messages below. Any other refusal of valid data still fails the run, and so does
every other check on the same answer. Schemathesis prints how many failures were
dropped ("Filtered: N"). One more is dropped: the 404 of move-to-folder for the
folder its body names, which the stateful phase would blame on the audience it
created (see `_folder_of_the_body`); and the 502 of the seat-onboarding routes, whose Unipile is
a closed local port in the run (see `_unipile_unreachable`). One rule is followed when requests are
generated instead (control characters, see `map_body` and `map_query`).
"""

import re

import schemathesis

# (field, message) pairs the server answers for a well-formed value that it
# refuses by a documented rule a JSON Schema cannot state.
EXPECTED = [
    # Ids that name nothing: an opaque cursor this list never issued (or the id of
    # no item of the list), references in bodies and queries to resources of the
    # group ("Pagination", "Scan requests", "400 versus 422 on responses").
    (r"cursor", r"is not a cursor returned by this list"),
    (r"cursor", r"is neither a cursor returned by this list nor the id of one of its items"),
    (r".+", r"is not an? [a-z ]+ of this account group"),
    (r".+", r"no [a-z ]+ `.*` (exists )?in this account group.*"),
    (r"leadIds\[\d+\]", r"`.*` is not a lead of the audience"),
    (r"prospectIds\[\d+\]", r"`.*` is not in the audience"),
    (r"savedSearchId|leadListId", r"`.*` is not one of the account's Sales Navigator [a-z-]+ \(.*\)"),
    # Rules between fields, stated in the operations' descriptions: OpenAPI cannot
    # declare two query parameters exclusive, nor a field required by another's value.
    (r"after", r"cannot be combined with cursor; pass one of them"),
    (r"subject", r"is required when channel is inmail"),
    (r"prospectId", r"give profile or prospectId, not both"),
    (r"signals", r"come from the stored prospect when prospectId is given"),
    (r"savedSearchId", r"give savedSearchId or leadListId, not both"),
    (r"profile", r"is required \(or give prospectId\)"),
    (r"minScore", r"applies only with prospectId"),
    # preview: a writing style composes for its own content type (the operation's 422).
    (r"channel", r"an? [a-z_]+ writing style cannot compose [a-z_]+"),
    # Prospecting: the source `type` decides which other field is required.
    (r"searchUrl|postUrl|profileUrls|savedSearchId", r"(savedSearchId or leadListId )?is required for [a-z_]+( \(.*\))?"),
    # Comma-separated query lists, whose items the descriptions bound: lead ids
    # of at most 100 characters, event types of the catalogue.
    (r"leadIds", r"each id must be at most 100 characters"),
    (r"types", r"unknown event type `.*`.*"),
    # Webhook URLs must be absolute (the description says https://…). The schema
    # leaves out `format: uri` on purpose: the fuzzer would then make endpoints on
    # random public hosts, and test deliveries would leave the machine.
    (r"url", r"is not a URL \(.*\)"),
    # Prospecting sources: the provider decides which URLs are LinkedIn searches,
    # posts or profiles (the body's description says which shape each needs).
    (r"searchUrl|postUrl|profileUrls\[\d+\]", r"is not a valid URL|must be a LinkedIn .*|is not a LinkedIn .*"),
    # Connecting a seat (docs/decisions.md, "Seat onboarding through the API"): the public URL
    # Unipile calls must be an http(s) URL, a webhook secret is required without it, and the
    # time zone and working hours must parse.
    (r"publicUrl", r"must be the http\(s\) URL .*"),
    (r"webhookSecret", r"is required unless publicUrl is given.*"),
    (r"timezone", r"`.*` is not an IANA time zone"),
    (r"workingHours", r".+"),
    # A seat's settings (PATCH …/linkedin-accounts/{id}) are checked as a whole, as the body's
    # description says: the spacing's bounds in order, a weekly cap when invitations are allowed.
    (r"spacingSecs", r"the minimum spacing must not exceed the maximum"),
    (r"weeklyInvitationCap", r"must be at least 1 when invitations are allowed"),
    # The DSN must be a URL whose host resolves and passes the outbound address policy (SSRF),
    # which depends on the machine: the schema's example (`api8.unipile.com`) does not resolve
    # where there is no DNS, like CI's.
    (r"unipileDsn", r".+"),
]

# Answers without `fields`, by message, for rules stated in the schema's description.
EXPECTED_MESSAGES = [
    # PATCH …/audiences/{audienceId}: "At least one of `name` and `description` is required (else 422)".
    r"At least one mutable field \(name, description\) is required\.",
    # move-to-folder: a folder holds audiences of its own type (the operation's 422).
    r"Folder move failed validation: a [a-z_]+ folder cannot hold a [a-z_]+ audience\.",
    # cancel: only a queued (or running) job, scan or response can be cancelled (422).
    r"(Job|Scan|The response) is not in a cancellable status \(it is [a-z_]+\); only .* can be cancelled\.",
    # preview: a writing style composes for its own content type (the operation's 422).
    r"This writing style writes [a-z_]+ content; it cannot compose a [a-z_]+ message\.",
    # Connecting a Unipile seat on a server without SONARLY_SECRET_KEY (the fuzz run's): the operation's 422.
    r"This server stores Unipile API keys only encrypted and has no secret key: .*",
]


def _expected(field, message):
    return any(re.fullmatch(f, field) and re.fullmatch(m, message) for f, m in EXPECTED)


# The control-character policy ("Input at the edge" in docs/decisions.md): no C0
# control but tab, LF and CR in body strings and keys, none at all in query values.
# A schema cannot say it of the fields a body may carry beside its declared ones,
# so generated requests follow it here instead of the server's refusals being
# dropped: each such character becomes a space when it is whitespace, else `_`, so
# lengths hold and a value stays blank or not blank (a negative case stays negative).
# The refusals themselves are tested in crates/api/tests/it/input.rs on every route.
_BODY_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_QUERY_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _replace(match):
    # Whitespace as JSON Schema patterns (ECMA-262) and the server's trimming see it.
    return " " if match.group() in "\x0b\x0c" else "_"


def _clean(value, refused):
    if isinstance(value, str):
        return refused.sub(_replace, value)
    if isinstance(value, list):
        return [_clean(v, refused) for v in value]
    if isinstance(value, dict):
        return {_clean(k, refused): _clean(v, refused) for k, v in value.items()}
    return value


@schemathesis.hook
def map_body(context, body):
    """Generated bodies follow the control-character policy."""
    return _clean(body, _BODY_REFUSED)


@schemathesis.hook
def map_query(context, query):
    """Generated query values follow the control-character policy."""
    return _clean(query, _QUERY_REFUSED)


def _folder_of_the_body(failure, case, response):
    """ST302 ("created resource not found") after a link from a new audience to
    move-to-folder, when the 404 is about the folder the generated body names
    (`folderId`), not about the audience the link passed."""
    if failure.code != "ST302" or response.status_code != 404 or not case.path.endswith("/move-to-folder"):
        return False
    try:
        return response.json()["error"]["message"] == "Folder not found."
    except Exception:
        return False


def _unipile_unreachable(failure, case, response):
    """A 502 UPSTREAM_ERROR from a seat-onboarding route: the fuzz run's Unipile DSN is a
    closed local port (.ci/schemathesis.toml), so "Unipile unreachable" is the right answer."""
    if response is None or response.status_code != 502 or "/linkedin-accounts" not in case.path:
        return False
    if type(failure).__name__ != "ServerError" and "server error" not in str(getattr(failure, "title", "")).lower():
        return False
    try:
        return response.json()["error"]["code"] == "UPSTREAM_ERROR"
    except Exception:
        return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure except a refused reference to nothing (see the module doc)."""
    if _folder_of_the_body(failure, case, response) or _unipile_unreachable(failure, case, response):
        return False
    if failure.code != "ST202" or response.status_code not in (400, 422):
        return True
    try:
        error = response.json()["error"]
    except Exception:
        return True
    fields = error.get("fields") or []
    if error.get("code") != "VALIDATION_ERROR":
        return True
    if not fields:
        message = error.get("message") or ""
        return not any(re.fullmatch(m, message) for m in EXPECTED_MESSAGES)
    return not all(_expected(f.get("field", ""), f.get("message", "")) for f in fields)
