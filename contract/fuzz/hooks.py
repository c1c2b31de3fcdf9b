"""Schemathesis hooks for contract/fuzz.sh (SCHEMATHESIS_HOOKS): the fuzzer does not lock itself out.

The server lets an administrator delete, deactivate or demote their own account, and the stateful phase finds
the fuzzer's own id along the links (`/v1/users` filtered down to it, the people search, `GET /v1/users/{id}`).
Once it has done so, every later request is a 401 (or a 403), and the rest of the run tests nothing. So the
cases that would delete the fuzzer's user (FUZZ_SELF_ID), make them inactive, not an administrator or an
integration account are not sent; every other case on every user, the fuzzer's own included, is.
"""

import os

import schemathesis

SELF = os.environ.get("FUZZ_SELF_ID", "")


@schemathesis.hook
def filter_case(context, case):
    if not SELF or case.operation.path != "/v1/users/{id}" or str(case.path_parameters.get("id")) != SELF:
        return True
    if case.method.upper() == "DELETE":
        return False
    if case.method.upper() == "PATCH" and isinstance(case.body, dict):
        return not (
            case.body.get("active") is False
            or case.body.get("is_admin") is False
            or case.body.get("kind") not in (None, "person")
        )
    return True
