"""The request -> approve flow through a client generated from openapi.yaml by openapi-python-client,
used as generated: an admin creates a flow, a requester in its visibility group asks for access, the
requester's manager approves, and the requester holds the grant.

Environment: PORTCULLIS_URL, and tokens ADMIN_TOKEN, REQUESTER_TOKEN, APPROVER_TOKEN. The generated
package `portcullis_client` must be importable (contract/run.sh puts python/generated on PYTHONPATH).
"""

import os
import sys
import time
from http import HTTPStatus
from typing import TypeVar

from portcullis_client import AuthenticatedClient
from portcullis_client.api.access import list_my_grants
from portcullis_client.api.access_requests import (
    approve_access_request,
    create_access_request,
    get_access_request,
    list_my_tasks,
)
from portcullis_client.api.approval_flows import create_approval_flow
from portcullis_client.api.catalog import get_catalog
from portcullis_client.api.groups import create_group, list_groups
from portcullis_client.api.me import get_me
from portcullis_client.api.users import search_people
from portcullis_client.models import (
    ActionKind,
    ActionList,
    ApprovalType,
    ApproveBody,
    ApproverRequirement,
    ColorDisplay,
    CreateFlowRequest,
    CreateGroupRequest,
    CreateRequestBody,
    FlowKind,
    FlowResponse,
    GrantList,
    GrantStatus,
    GroupList,
    GroupResponse,
    MeResponse,
    PersonList,
    PersonSummary,
    Problem,
    RequesterManagerApprover,
    RequesterManagerApproverType,
    RequestDetail,
    RequestResponse,
    RequestStatus,
    TimedAccess,
    TimedAccessMode,
    Catalog,
)
from portcullis_client.types import Response

T = TypeVar("T")


def client_for(token_variable: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=os.environ["PORTCULLIS_URL"],
        token=os.environ[token_variable],
        raise_on_unexpected_status=True,
    )


def expect(step: str, response: Response, status: HTTPStatus, kind: type[T]) -> T:
    """The parsed body of an answer with the expected status, or a failure naming the step."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, kind):
        detail = parsed.to_dict() if isinstance(parsed, Problem) else response.content[:500]
        raise SystemExit(f"FAIL {step}: HTTP {response.status_code} {detail!r}")
    print(f"ok  {step} (HTTP {response.status_code})")
    return parsed


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"check failed: {message}")


def main() -> None:
    admin = client_for("ADMIN_TOKEN")
    requester = client_for("REQUESTER_TOKEN")
    approver = client_for("APPROVER_TOKEN")
    run = f"py-{time.time_ns()}"

    me = expect("admin: GET /v1/me", get_me.sync_detailed(client=admin), HTTPStatus.OK, MeResponse)
    check(me.is_admin, "the admin token belongs to an administrator")

    groups = expect(
        "admin: GET /v1/groups?q=Engineering",
        list_groups.sync_detailed(client=admin, q="Engineering"),
        HTTPStatus.OK,
        GroupList,
    )
    engineering = next((g for g in groups.items if g.name == "Engineering"), None)
    check(engineering is not None, "the demo group Engineering exists")
    assert engineering is not None

    target = expect(
        "admin: POST /v1/groups",
        create_group.sync_detailed(
            client=admin,
            body=CreateGroupRequest(name=f"Contract {run}", description="Target group of the Python client check"),
        ),
        HTTPStatus.CREATED,
        GroupResponse,
    )

    flow = expect(
        "admin: POST /v1/approval-flows",
        create_approval_flow.sync_detailed(
            client=admin,
            body=CreateFlowRequest(
                kind=FlowKind.RESOURCE_REQUEST,
                name=f"Contract check {run}",
                description="Created by the generated Python client",
                enabled=True,
                display=ColorDisplay(color="#3776ab"),
                target_group_id=target.id,
                owner_ids=[],
                visibility_group_ids=[engineering.id],
                timed_access=TimedAccess(mode=TimedAccessMode.CHOICES, durations_seconds=[3600, 7200]),
                approval_type=ApprovalType.MANUAL,
                approvers=[RequesterManagerApprover(type_=RequesterManagerApproverType.REQUESTER_MANAGER)],
                approver_requirement=ApproverRequirement.ALL,
            ),
        ),
        HTTPStatus.CREATED,
        FlowResponse,
    )
    check(isinstance(flow.approvers[0], RequesterManagerApprover), "the flow's approver spec parses as its own type")
    check(isinstance(flow.display, ColorDisplay), "the flow's display parses as a colour")

    catalog = expect("requester: GET /v1/catalog", get_catalog.sync_detailed(client=requester), HTTPStatus.OK, Catalog)
    check(any(e.flow_id == flow.id for e in catalog.items), "the requester sees the new flow in the catalog")

    # Who approves: the requester's manager, in the requester's own record, found again by the people search.
    own = expect("requester: GET /v1/me", get_me.sync_detailed(client=requester), HTTPStatus.OK, MeResponse)
    manager = own.manager
    if not isinstance(manager, PersonSummary):
        raise SystemExit("check failed: the demo requester has a manager")
    people = expect(
        "requester: GET /v1/people?q=",
        search_people.sync_detailed(client=requester, q=manager.email),
        HTTPStatus.OK,
        PersonList,
    )
    check(any(p.id == manager.id for p in people.items), "the people search finds the requester's manager")

    created = expect(
        "requester: POST /v1/access-requests",
        create_access_request.sync_detailed(
            client=requester,
            body=CreateRequestBody(
                flow_id=flow.id, reason="Contract check of the generated Python client", duration_seconds=3600
            ),
            idempotency_key=run,
        ),
        HTTPStatus.CREATED,
        RequestResponse,
    )
    check(created.status == RequestStatus.PENDING, f"the new request is pending (got {created.status})")

    tasks = expect("approver: GET /v1/me/tasks", list_my_tasks.sync_detailed(client=approver), HTTPStatus.OK, ActionList)
    check(
        any(t.action == ActionKind.APPROVE and t.access_request and t.access_request.id == created.id for t in tasks.items),
        "the request is among the approver's actions, to approve",
    )

    approved = expect(
        "approver: POST /v1/access-requests/{id}/approve",
        approve_access_request.sync_detailed(
            created.id, client=approver, body=ApproveBody(comment="Approved by the contract check")
        ),
        HTTPStatus.OK,
        RequestResponse,
    )
    check(approved.status == RequestStatus.APPROVED, f"the request is approved (got {approved.status})")

    detail = expect(
        "requester: GET /v1/access-requests/{id}",
        get_access_request.sync_detailed(created.id, client=requester),
        HTTPStatus.OK,
        RequestDetail,
    )
    grant = detail.grant
    check(grant is not None and grant.group_id == target.id, "the request carries the grant of the target group")

    grants = expect("requester: GET /v1/me/grants", list_my_grants.sync_detailed(client=requester), HTTPStatus.OK, GrantList)
    check(
        any(g.request_id == created.id and g.status == GrantStatus.ACTIVE for g in grants.items),
        "the requester holds an active grant from the request",
    )
    print(f"Python client: request {created.id} approved; grant active until {grant.expires_at if grant else None}")


if __name__ == "__main__":
    sys.exit(main())
