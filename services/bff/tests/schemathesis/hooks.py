"""Schemathesis hooks for fuzzing the running bff against openapi/bff.yaml.

Loaded through SCHEMATHESIS_HOOKS by scripts/e2e. Needs:
  FOLIO_BASE_URL        the bff, e.g. http://127.0.0.1:8080
  FOLIO_ADMIN_EMAIL     an enabled admin
  FOLIO_ADMIN_PASSWORD  that admin's password

Authentication is a real sign-in (POST /api/v1/session): every generated
request carries the session cookie and the session's X-CSRF-Token, as the
portal's would. Operations that end the session (sign-out, a changed or reset
password, a disabled user) make the next request answer 401; the provider then
signs in again and Schemathesis repeats the request.
"""

from __future__ import annotations

import os
import threading
import uuid

import requests
import schemathesis

BASE_URL = os.environ["FOLIO_BASE_URL"].rstrip("/")
EMAIL = os.environ["FOLIO_ADMIN_EMAIL"]
PASSWORD = os.environ["FOLIO_ADMIN_PASSWORD"]

_admin_id: str | None = None
_lock = threading.Lock()


def _sign_in() -> dict[str, str]:
    response = requests.post(
        f"{BASE_URL}/api/v1/session",
        json={"email": EMAIL, "password": PASSWORD},
        timeout=10,
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"signing in as {EMAIL} answered {response.status_code}: {response.text[:300]}"
        )
    global _admin_id
    _admin_id = response.json()["user"]["id"]
    return {
        "cookie": response.cookies["folio_session"],
        "csrf": response.json()["csrf_token"],
    }


# Signed in once, and again only when a request answers 401.
@schemathesis.auth(refresh_interval=24 * 3600, retry_on=[401])
class FolioSession:
    """A signed-in admin: the session cookie plus its CSRF token."""

    def get(self, case, ctx):
        with _lock:
            return _sign_in()

    def set(self, case, data, ctx):
        case.cookies = {**(case.cookies or {}), "folio_session": data["cookie"]}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": data["csrf"]}


# Three things are arranged just before every request, whichever phase made
# it (the stateful phase fills in values from earlier answers, after any
# generation hook has run):
#
# * Multipart part order. The bff streams uploads: in `multipart/form-data`
#   every text part must come before the `file` part (openapi/bff.yaml,
#   createDocument; ADR 0004), and a part after the file is refused with 400.
#   Schemathesis sends a generated object's properties in whatever order they
#   were drawn, so a valid form could go out with `file` first and be refused
#   for its order alone. Put `file` last; which parts there are and what they
#   hold stays as generated, negative cases included.
# * Never the signed-in admin's own account. Disabling, demoting or resetting
#   the password of the admin the provider signs in as would turn every later
#   request into a 401 and end the testing. Such a request goes to a fresh,
#   unknown user id instead (and is answered 404). Users the fuzzer creates
#   are fair game.
# * Never a failed sign-in with the admin's email: a handful would lock that
#   account (FOLIO_BFF_LOGIN_MAX_FAILURES), and with it the provider. Sign-in
#   is still fuzzed with every other email.
UPLOADS = {("POST", "/api/v1/documents"), ("POST", "/api/v1/documents/{document_id}/versions")}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    method = case.operation.method.upper()
    path = case.operation.path
    if (method, path) in UPLOADS and isinstance(case.body, dict) and "file" in case.body:
        parts = {name: value for name, value in case.body.items() if name != "file"}
        parts["file"] = case.body["file"]
        case.body = parts
    if path.startswith("/api/v1/users/{user_id}") and case.path_parameters:
        if _admin_id is None:
            with _lock:
                _sign_in()
        if str(case.path_parameters.get("user_id", "")).lower() == _admin_id:
            case.path_parameters = {**case.path_parameters, "user_id": str(uuid.uuid4())}
    if (method, path) == ("POST", "/api/v1/session") and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str) and email.strip().lower() == EMAIL.lower():
            case.body = {**case.body, "email": f"not-{EMAIL}"}
