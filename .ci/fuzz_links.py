"""Which OpenAPI links the stateful phase of .ci/fuzz followed, from its NDJSON reports.

Schemathesis prints how many links one run covered; this adds up every round of a
fuzz run (the document's links against the transitions recorded in the reports)
and lists, per family, the links never followed and those followed without a
success. Following `DELETE … -> read` is meant to answer 404, so for those a
404 counts as the expected answer. It reports; it does not fail the run.

    python fuzz_links.py OPENAPI_JSON REPORT.ndjson...
"""

import collections
import json
import sys

PREFIX = "/v1/accounts/{accountGroupId}"


def main(document, reports):
    spec = json.load(open(document))
    links = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for name in response.get("links") or {}:
                    links.add(f"{method.upper()} {path} -> [{status}] {name}")
    answers = collections.defaultdict(collections.Counter)
    for report in reports:
        for line in open(report):
            event = json.loads(line)
            recorder = (event.get("ScenarioFinished") or {}).get("recorder") or {}
            for case_id, case in recorder.get("cases", {}).items():
                transition = case.get("transition")
                if not transition:
                    continue
                link = transition["id"].rsplit(" -> ", 1)[0]
                interaction = recorder.get("interactions", {}).get(case_id) or {}
                answers[link][(interaction.get("response") or {}).get("status_code", 0)] += 1

    def succeeded(link):
        expected = (404,) if link.startswith("DELETE ") else ()
        return any(200 <= s < 300 or s in expected for s in answers[link])

    followed = [link for link in links if link in answers]
    good = [link for link in links if succeeded(link)]
    print(f"fuzz: the stateful rounds followed {len(followed)} of {len(links)} links, {len(good)} with the expected answer")
    for link in sorted(links - set(good)):
        seen = ", ".join(f"{n}x {s}" for s, n in sorted(answers[link].items())) or "never followed"
        print(f"fuzz:   {link.replace(PREFIX, '')}: {seen}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
