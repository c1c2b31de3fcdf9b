//! Cancel, retry, reassign, shorten, expire, and the texts a request is given.

use chrono::Duration;

use super::*;

#[test]
fn overrides_need_an_admin_and_work_from_error() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::All);
    assert_eq!(
        override_as(&mut request, person(p.manager), Verdict::Approve),
        Err(RequestError::Forbidden("only administrators can override"))
    );
    let integration = Actor {
        id: p.admin,
        role: Role::Integration,
    };
    assert_eq!(
        decide(&mut request, integration, &command(Verdict::Approve)),
        Err(RequestError::Forbidden(
            "integration accounts never approve or deny"
        ))
    );
    fail(&mut request).unwrap();
    override_as(&mut request, admin(p.admin), Verdict::Approve).unwrap();
    assert_eq!(request.status, RequestStatus::Approved);
    assert!(request.outcome.as_ref().unwrap().is_override);
}

#[test]
fn cancel_is_for_the_requester_while_pending_or_an_admin() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert_eq!(
        request.cancel(&person(p.manager), now()).unwrap_err(),
        RequestError::RequesterOnly
    );
    let change = request.cancel(&person(p.requester), now());
    apply(&mut request, change).unwrap();
    assert_eq!(request.status, RequestStatus::Canceled);
    assert_eq!(
        request.cancel(&person(p.requester), now()).unwrap_err(),
        RequestError::NotPending(RequestStatus::Canceled)
    );
    let mut failed = two_step(&p, ApproverRequirement::Any);
    fail(&mut failed).unwrap();
    assert_eq!(
        failed.cancel(&person(p.requester), now()).unwrap_err(),
        RequestError::RequesterOnly
    );
    assert!(failed.cancel(&admin(p.admin), now()).is_ok());
}

#[test]
fn retry_re_resolves_the_steps() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    // A pending request is not in error: retrying it conflicts with its state (409), it is no bad input.
    let manual = flow(ApprovalType::Manual);
    let new_manager = UserId::new_v7();
    let steps = vec![step(
        0,
        ApproverSpec::RequesterManager,
        &[new_manager],
        false,
    )];
    let retry = |request: &AccessRequest, actor: Actor, flow: Option<&ApprovalFlow>| {
        request.retry(&actor, flow, steps.clone(), 30, now())
    };
    assert_eq!(
        retry(&request, admin(p.admin), Some(&manual)).unwrap_err(),
        RequestError::NotInError(RequestStatus::Pending)
    );
    fail(&mut request).unwrap();
    assert_eq!(
        retry(&request, person(p.manager), Some(&manual)).unwrap_err(),
        RequestError::AdminOnly
    );
    assert!(matches!(
        retry(&request, admin(p.admin), None),
        Err(RequestError::Conflict(_))
    ));
    let automatic = flow(ApprovalType::Automatic);
    assert!(matches!(
        retry(&request, admin(p.admin), Some(&automatic)),
        Err(RequestError::Conflict(_))
    ));
    let change = retry(&request, admin(p.admin), Some(&manual));
    apply(&mut request, change).unwrap();
    assert_eq!(
        (
            request.status,
            request.flow_version,
            request.approver_requirement
        ),
        (
            RequestStatus::Pending,
            manual.version(),
            Some(ApproverRequirement::Any)
        )
    );
    assert_eq!(approve(&mut request, new_manager), Ok(true));
}

#[test]
fn reassign_hands_over_a_place_in_the_active_step() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    let deputy = colleague(UserId::new_v7(), false);
    assert_eq!(
        request
            .reassign(&person(p.reviewers[0]), false, None, Some(&deputy))
            .unwrap_err(),
        RequestError::NotAnApprover
    );
    let requester = colleague(p.requester, false);
    assert!(
        request
            .reassign(&person(p.manager), false, None, Some(&requester))
            .is_err()
    );
    assert_eq!(
        request
            .reassign(&person(p.manager), false, None, None)
            .unwrap_err()
            .field(),
        Some("to_user_id")
    );
    let change = request.reassign(&person(p.manager), false, None, Some(&deputy));
    apply(&mut request, change).unwrap();
    let deputy = deputy.id;
    assert_eq!(
        approve(&mut request, p.manager),
        Err(RequestError::NotAnApprover)
    );
    assert_eq!(approve(&mut request, deputy), Ok(false));
}

#[test]
fn only_the_completing_approval_may_shorten_and_never_lengthen() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    assert!(shorten(&mut request, p.manager, 3600).is_err());
    approve(&mut request, p.manager).unwrap();
    approve(&mut request, p.reviewers[0]).unwrap();
    assert!(shorten(&mut request, p.reviewers[1], 90_000).is_err());
    assert_eq!(shorten(&mut request, p.reviewers[1], 3600), Ok(true));
    assert_eq!(request.duration_seconds, Some(3600));
}

#[test]
fn pending_requests_expire_only_after_their_time() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert!(request.expire(now() + Duration::days(29)).is_err());
    let change = request.expire(now() + Duration::days(30));
    apply(&mut request, change).unwrap();
    assert_eq!(request.status, RequestStatus::Expired);
}

#[test]
fn reasons_and_texts_are_trimmed_and_bounded() {
    assert_eq!(
        parse_reason("  Need to review the release  ").unwrap(),
        "Need to review the release"
    );
    assert!(parse_reason("too short").is_err());
    assert!(parse_reason(&"x".repeat(2001)).is_err());
    assert_eq!(parse_text(Some("   ")).unwrap(), None);
    assert!(parse_text(Some(&"x".repeat(2001))).is_err());
    // The maximum counts the text as sent (the API schema's maxLength), padding included.
    let full = "x".repeat(2000);
    assert!(parse_reason(&full).is_ok());
    assert!(parse_reason(&format!(" {full}")).is_err());
    assert_eq!(
        parse_text(Some(&full)).unwrap().as_deref(),
        Some(full.as_str())
    );
    assert!(parse_text(Some(&format!("{full}\u{a0}"))).is_err());
}
