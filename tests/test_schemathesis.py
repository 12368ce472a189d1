"""schemathesis against each door's OpenAPI description, on a live server (the `server` fixture:
SQLite, or PostgreSQL and Redis when CI names them).

Per operation, schemathesis generates requests from the description, valid ones and invalid
ones, a bounded number with a fixed seed (derandomized: the same requests every run), signed in
with a user of the door's own. Every answer must be no 5xx, a status the operation declares, and
a body of the declared shape and media type. WebSocket routes (x-websocket) get plain HTTP
requests here (their frames are tests/test_openapi.py's).

schemathesis sends with `requests`, which blocks: it runs on a thread while the reactor serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import pytest_twisted

from tests.clients.images import png

EXAMPLES = 20  # per operation and generation mode
# an operation that ends the fuzzing user's credential runs last, so the others run signed in
LAST = {"logout", "delete_account"}


@dataclass
class Credential:
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)


# -- signing up one user per door (on the fuzzing thread, with requests) ---------------------------

def rooms_user(session, server) -> Credential:
    r = session.post(server.url + "/v1/register/", json={"login": "fuzzer", "password": "secret"})
    assert r.status_code == 200, r.text
    return Credential({"X-Session-Id": r.json()["session_id"]})


def social_user(session, server) -> Credential:
    r = session.post(server.url + "/api-token-auth/", json={
        "social_slug": "vk", "external_id": 4242, "token": "tok", "first_name": "Fuzzer"})
    assert r.status_code == 200, r.text
    return Credential({"Authorization": f"Token {r.json()['token']}"})


def campus_user(session, server) -> Credential:
    r = session.post(server.url + "/accounts/signup/", json={"username": "fuzzer", "password": "secret"})
    assert r.status_code == 200 and r.json()["error"] == 0, r.text
    cookies = {"sessionid": r.cookies["sessionid"], "csrftoken": r.cookies["csrftoken"]}
    return Credential({"X-CSRFToken": cookies["csrftoken"]}, cookies)


def phone_user(session, server) -> Credential:
    phone = "+79250741499"
    r = session.post(server.url + "/api/auth/code/", json={"phone": phone})
    assert r.status_code == 201, r.text
    code = next(text.rsplit(" ", 1)[-1] for to, text in reversed(server.services.sms.sent) if to == phone)
    r = session.post(server.url + "/api/auth/users/", data={"phone": phone, "code": code, "is_new": "true",
                                                            "name": "Fuzzer"},
                     files={"avatar": ("a.png", png(4, 4), "image/png")})
    assert r.status_code == 201, r.text
    return Credential({"Authorization": f"Token {r.json()['token']}"})


def directory_user(session, server) -> Credential:
    body = {"email": "fuzzer@example.com", "password": "secret-password"}
    r = session.post(server.url + "/api/user/sign-up/", json=body)
    assert r.status_code == 201, r.text
    r = session.post(server.url + "/api/user/sign-in/", json=body)
    assert r.status_code == 200, r.text
    return Credential({"Authorization": f"Bearer {r.json()['access']}"})


SIGN_UP = {"rooms": rooms_user, "social": social_user, "campus": campus_user, "phone": phone_user,
           "directory": directory_user}


# -- the run ------------------------------------------------------------------------------------

def fuzz(server, door: str) -> list[str]:
    """Every failure schemathesis finds on the door's operations, described."""
    import requests
    import schemathesis
    from schemathesis import GenerationMode

    from meetsrv.openapi.pages import document_bytes
    from meetsrv.web import build_doors

    door_cls = next(type(d) for d in build_doors(server.services) if d.name == door)
    schema = schemathesis.openapi.from_dict(json.loads(document_bytes(door_cls)))
    # NUL in text (PostgreSQL's text cannot hold it) is one of the input classes every door
    # refuses at once in http/models.py, tested there with the other hostile inputs
    schema.config.generation.update(allow_x00=False)
    http = requests.Session()
    credential = SIGN_UP[door](http, server)
    failures: list[str] = []

    operations = [result.ok() for result in schema.get_all_operations()]
    # what makes objects first (so later reads find some), what ends the credential last
    operations.sort(key=lambda op: (op.definition.raw.get("operationId") in LAST, op.method.upper() != "POST"))
    for operation in operations:
        raw = operation.definition.raw
        # an operation without parameters or a body has nothing to make invalid
        modes = [GenerationMode.POSITIVE]
        if raw.get("parameters") or "requestBody" in raw:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            answers = fuzz_operation(operation, mode, server.url, http, credential, failures)
            if mode is GenerationMode.POSITIVE:
                signed_in = [not unauthenticated(r) for r in answers]
        needs_credential = {} not in raw.get("security", [{}])
        if needs_credential and raw.get("operationId") not in LAST and not any(signed_in):
            failures.append(f"{operation.label}: no request was answered as signed in")
    http.close()
    return failures


def fuzz_operation(operation, mode, base_url: str, http, credential: Credential, failures: list[str]) -> list:
    """Generated requests of one operation in one mode, each answer checked; the answers."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    answers = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, session=http, headers=dict(credential.headers),
                             cookies=dict(credential.cookies), timeout=30)
        answers.append(response)
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, FailureGroup) as e:
            text = f"{operation.label} ({mode.value}): {e}\n{case.as_curl_command()}"
            if text.split("\n")[0] not in {f.split("\n")[0] for f in failures}:
                failures.append(text)

    run()
    return answers


def unauthenticated(response) -> bool:
    """The door answered as to a caller without a credential (campus: in its envelope)."""
    if response.status_code == 401:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error_msg") == "Login required"


@pytest.mark.parametrize("door", sorted(SIGN_UP))
@pytest_twisted.ensureDeferred
async def test_door_answers_as_described(server, door):
    from twisted.internet import threads

    failures = await threads.deferToThread(fuzz, server, door)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:20])
