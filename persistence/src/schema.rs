//! One portable schema for both backends: ids as Text, instants as Timestamp (UTC), enums as Text.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        manager_id -> Nullable<Text>,
        is_admin -> Bool,
        active -> Bool,
        kind -> Text,
        external_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_groups (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    scim_pending_managers (user_id) {
        user_id -> Text,
        reference -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scim_deleted_users (user_id) {
        user_id -> Text,
        deleted_at -> Timestamp,
    }
}

diesel::table! {
    scim_users (user_id) {
        user_id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        attributes -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scim_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    memberships (id) {
        id -> Text,
        group_id -> Text,
        user_id -> Text,
        source -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        name -> Text,
        os -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        managed -> Bool,
        certificate_fingerprint -> Nullable<Text>,
    }
}

diesel::table! {
    device_assignments (device_id, user_id) {
        device_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        event_type -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        subject_type -> Text,
        subject_id -> Text,
        data -> Text,
    }
}

diesel::table! {
    help_requests (id) {
        id -> Text,
        flow_id -> Text,
        flow_name -> Text,
        asker_id -> Text,
        message -> Text,
        state -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        version -> BigInt,
    }
}

diesel::table! {
    help_request_answerers (help_request_id, user_id) {
        help_request_id -> Text,
        user_id -> Text,
        open -> Bool,
        since -> Timestamp,
    }
}

diesel::table! {
    help_request_comments (id) {
        id -> Text,
        help_request_id -> Text,
        author_id -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(memberships -> user_groups (group_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(device_assignments -> devices (device_id));
diesel::joinable!(device_assignments -> users (user_id));

diesel::table! {
    approval_flows (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        description -> Text,
        enabled -> Bool,
        approval_type -> Text,
        definition -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    flow_groups (flow_id, group_id, role) {
        flow_id -> Text,
        group_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    flow_users (flow_id, user_id, role) {
        flow_id -> Text,
        user_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    settings (id) {
        id -> Integer,
        resource_requests_enabled -> Bool,
        expiry_days -> BigInt,
        show_approval_progress -> Bool,
        email_request_received -> Bool,
        email_decision -> Bool,
        email_admin_new_request -> Bool,
        max_access_duration_seconds -> BigInt,
        version -> BigInt,
        updated_at -> Timestamp,
        approver_reminder_days -> BigInt,
        grant_ending_notice_hours -> BigInt,
    }
}

diesel::table! {
    access_requests (id) {
        id -> Text,
        flow_id -> Text,
        flow_name -> Text,
        kind -> Text,
        approval_type -> Text,
        requester_id -> Text,
        status -> Text,
        reason -> Text,
        detail -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        version -> BigInt,
        open_key -> Nullable<Text>,
        approver_kind -> Text,
    }
}

diesel::table! {
    request_tasks (request_id, task_type) {
        request_id -> Text,
        task_type -> Text,
        position -> Integer,
        state -> Text,
        assignee_ids -> Text,
        opened_at -> Nullable<Timestamp>,
        completed_by -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    request_people (user_id, request_id) {
        user_id -> Text,
        request_id -> Text,
    }
}

diesel::table! {
    request_task_assignees (request_id, task_type, user_id) {
        request_id -> Text,
        task_type -> Text,
        user_id -> Text,
        since -> Timestamp,
    }
}

diesel::table! {
    request_approvers (request_id, user_id, position) {
        request_id -> Text,
        user_id -> Text,
        position -> Integer,
        awaiting -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    request_comments (id) {
        id -> Text,
        request_id -> Text,
        author_id -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        request_id -> Text,
        user_id -> Text,
        group_id -> Text,
        membership_id -> Nullable<Text>,
        status -> Text,
        granted_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<Text>,
        version -> BigInt,
        extension_count -> BigInt,
        extended_seconds -> BigInt,
        starts_at -> Nullable<Timestamp>,
        activate_by -> Nullable<Timestamp>,
        duration_seconds -> Nullable<BigInt>,
    }
}

diesel::table! {
    device_admin_sessions (id) {
        id -> Text,
        request_id -> Text,
        device_id -> Text,
        user_id -> Text,
        started_at -> Timestamp,
        ends_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (principal_id, key) {
        principal_id -> Text,
        key -> Text,
        body_hash -> Text,
        request_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_channels (id) {
        id -> Text,
        name -> Text,
        url -> Text,
        enabled -> Bool,
        events -> Text,
        secret -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        channel_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        topic -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claim_token -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        last_latency_ms -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Text,
        outbox_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    notification_marks (subject_id, kind) {
        subject_id -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    slack_connection (id) {
        id -> Integer,
        bot_token -> Text,
        signing_secret -> Text,
        default_channel_ids -> Text,
        notify_requester -> Bool,
        team_name -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        verification_error -> Nullable<Text>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    slack_messages (id) {
        id -> Text,
        request_id -> Text,
        recipient_id -> Nullable<Text>,
        channel -> Text,
        ts -> Text,
        closed -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    slack_users (user_id) {
        user_id -> Text,
        email -> Text,
        slack_user_id -> Nullable<Text>,
        looked_up_at -> Timestamp,
    }
}

diesel::table! {
    slack_interactions (id) {
        id -> Text,
        received_at -> Timestamp,
    }
}

diesel::joinable!(outbox -> webhook_channels (channel_id));
diesel::joinable!(help_request_answerers -> help_requests (help_request_id));
diesel::joinable!(delivery_attempts -> outbox (outbox_id));
diesel::joinable!(request_approvers -> access_requests (request_id));
diesel::joinable!(request_tasks -> access_requests (request_id));
diesel::joinable!(request_people -> access_requests (request_id));
diesel::joinable!(request_task_assignees -> access_requests (request_id));
diesel::table! {
    authzen_signing_keys (kid) {
        kid -> Text,
        seed -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    authzen_tasks (id) {
        id -> Text,
        request_id -> Text,
        submitter_id -> Text,
        subject_id -> Text,
        resource_type -> Text,
        resource_id -> Text,
        approval_id -> Text,
        evaluation_id -> Text,
        binding_jti -> Text,
        idempotency_key -> Nullable<Text>,
        body_hash -> Nullable<Text>,
        created_at -> Timestamp,
        callback -> Nullable<Text>,
    }
}

diesel::joinable!(flow_groups -> approval_flows (flow_id));
diesel::joinable!(flow_users -> approval_flows (flow_id));

diesel::allow_tables_to_appear_in_same_query!(
    authzen_signing_keys,
    authzen_tasks,
    access_requests,
    request_approvers,
    request_tasks,
    request_task_assignees,
    request_people,
    request_comments,
    grants,
    device_admin_sessions,
    idempotency_keys,
    approval_flows,
    flow_groups,
    flow_users,
    settings,
    users,
    user_groups,
    memberships,
    scim_tokens,
    scim_pending_managers,
    scim_deleted_users,
    scim_users,
    devices,
    device_assignments,
    events,
    webhook_channels,
    outbox,
    delivery_attempts,
    notification_marks,
    slack_connection,
    slack_messages,
    slack_users,
    slack_interactions,
    help_requests,
    help_request_answerers,
    help_request_comments,
);
