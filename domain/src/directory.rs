//! The directory: users, groups, memberships and devices, and the rules that keep it consistent.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{DeviceId, GroupId, MembershipId, UserId};

/// Defines a trimmed, length-bounded text value object whose only constructor is `parse`.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, $what:literal, $min:expr, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            /// Trims the input and checks its length and characters.
            pub fn parse(raw: &str) -> Result<Self, String> {
                parse_bounded_text(raw, $what, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn parse_bounded_text(raw: &str, what: &str, min: usize, max: usize) -> Result<String, String> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars < min {
        return Err(if min == 1 {
            format!("{what} must not be empty")
        } else {
            format!("{what} must be at least {min} characters")
        });
    }
    // The maximum holds for the text as sent, as the API's schema says, not only once trimmed.
    if raw.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!("{what} must not contain control characters"));
    }
    Ok(value.to_owned())
}

bounded_text!(
    /// A person's or integration's name as shown to others.
    DisplayName, "display name", 1, 200
);
bounded_text!(
    /// The subject an identity provider knows the user by.
    ExternalId, "external id", 1, 255
);
bounded_text!(
    /// A group's name, unique in the directory.
    GroupName, "group name", 1, 200
);
bounded_text!(
    /// What an admin calls an identity provider that pushes the directory (its SCIM token's name).
    ProviderName, "name", 1, 200
);
bounded_text!(
    /// A free-text description; may be empty.
    Description, "description", 0, 2000
);
bounded_text!(
    /// A device's name.
    DeviceName, "device name", 1, 200
);

/// An email address, trimmed and lower-cased so that uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        let invalid = || Err(format!("'{}' is not a valid email address", raw.trim()));
        if value.is_empty() {
            return Err("email must not be empty".to_owned());
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "email must be at most {} characters",
                Self::MAX_CHARS
            ));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return invalid();
        };
        let domain_ok = !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        if domain_ok && local_ok {
            Ok(Self(value))
        } else {
            invalid()
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Defines a closed set of names stored and sent as snake_case text.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!(
                        "'{other}' is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A person, or a service account used for automation. Integration users may create requests on
    /// behalf of people and read requests and events, but never approve and never hold access.
    UserKind { Person => "person", Integration => "integration" }
);
text_enum!(
    /// Why a user is in a group: added by an admin, by an approved access request, or pushed by an
    /// identity provider through SCIM. Each source is independent: removing one leaves the others.
    MembershipSource { Direct => "direct", Grant => "grant", Scim => "scim" }
);
text_enum!(
    /// The operating systems whose devices can be managed.
    DeviceOs { Windows => "windows", Macos => "macos", Linux => "linux" }
);

/// A person or integration account in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: DisplayName,
    pub manager_id: Option<UserId>,
    pub is_admin: bool,
    pub active: bool,
    pub kind: UserKind,
    pub external_id: Option<ExternalId>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether this user may use admin operations: an active admin person.
    pub fn acts_as_admin(&self) -> bool {
        self.active && self.is_admin && self.kind == UserKind::Person
    }
}

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub name: GroupName,
    pub description: Description,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One reason a user is in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: MembershipId,
    pub group_id: GroupId,
    pub user_id: UserId,
    pub source: MembershipSource,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A device and the users assigned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub name: DeviceName,
    pub os: DeviceOs,
    pub assigned_user_ids: Vec<UserId>,
    /// Present when the device is managed: the fingerprint of the certificate it presented.
    pub certificate_fingerprint: Option<CertificateFingerprint>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Device {
    /// Whether the device is managed: it presented its certificate (seed 003's check), so admin
    /// rights on it may be requested.
    pub fn managed(&self) -> bool {
        self.certificate_fingerprint.is_some()
    }
}

/// The SHA-256 fingerprint of the certificate a managed device presented: 64 hexadecimal digits,
/// kept lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CertificateFingerprint(String);

impl CertificateFingerprint {
    pub const HEX_DIGITS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == Self::HEX_DIGITS && raw.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(format!(
                "must be the certificate's SHA-256 fingerprint: {} hexadecimal digits",
                Self::HEX_DIGITS
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the manager rule needs to know about a proposed manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerCandidate {
    pub id: UserId,
    pub active: bool,
    pub kind: UserKind,
    /// The candidate's own manager, then that manager's, and so on upwards.
    pub chain_above: Vec<UserId>,
}

/// Checks that `candidate` may become the manager of `user` (`None` for a user being created).
///
/// A manager must be an active person, and the management chain may never loop back to the user.
pub fn check_manager(user: Option<UserId>, candidate: &ManagerCandidate) -> Result<(), String> {
    if candidate.kind != UserKind::Person {
        return Err("an integration user cannot be a manager".to_owned());
    }
    if !candidate.active {
        return Err("the manager is deactivated".to_owned());
    }
    if let Some(user) = user {
        if candidate.id == user {
            return Err("a user cannot be their own manager".to_owned());
        }
        if candidate.chain_above.contains(&user) {
            return Err("this manager would create a cycle in the management chain".to_owned());
        }
    }
    Ok(())
}

/// Checks that `kind` may be a member of a group or hold access.
pub fn check_may_hold_access(kind: UserKind, active: bool) -> Result<(), String> {
    if kind == UserKind::Integration {
        return Err("an integration user never holds access".to_owned());
    }
    if !active {
        return Err("the user is deactivated".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn person(id: UserId, chain_above: Vec<UserId>) -> ManagerCandidate {
        ManagerCandidate {
            id,
            active: true,
            kind: UserKind::Person,
            chain_above,
        }
    }

    #[test]
    fn the_maximum_length_holds_for_the_text_as_sent() {
        // What the API's schema says (maxLength counts what is sent): padding does not buy room.
        let full = "a".repeat(DeviceName::MAX_CHARS);
        assert_eq!(DeviceName::parse(&full).unwrap().as_str(), full);
        assert!(DeviceName::parse(&format!("\u{a0}{full}")).is_err());
        assert!(DeviceName::parse(&format!("{full} ")).is_err());
        assert_eq!(
            DeviceName::parse("  ada-laptop ").unwrap().as_str(),
            "ada-laptop"
        );
        // 254 characters: a@ and a 252-character domain.
        let long_email = format!(" a@{}.example", "b".repeat(Email::MAX_CHARS - 10));
        assert!(Email::parse(long_email.trim()).is_ok());
        assert!(Email::parse(&long_email).is_err());
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn email_without_at_sign_or_domain_is_rejected() {
        for raw in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a@b@c",
            "a b@example.com",
            "a@-x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn over_long_email_is_rejected() {
        let raw = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&raw).unwrap_err().contains("at most 254"));
    }

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(
            DisplayName::parse("   ")
                .unwrap_err()
                .contains("must not be empty")
        );
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(DisplayName::parse("bad\u{0007}name").is_err());
    }

    #[test]
    fn a_certificate_fingerprint_is_64_hex_digits_kept_lower_case() {
        let upper = "AB".repeat(32);
        assert_eq!(
            CertificateFingerprint::parse(&upper).unwrap().as_str(),
            "ab".repeat(32)
        );
        for bad in [
            "",
            "ab",
            &"g".repeat(64),
            &"a".repeat(65),
            &format!(" {}", "a".repeat(63)),
        ] {
            assert!(CertificateFingerprint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn description_may_be_empty() {
        assert_eq!(Description::parse("").unwrap().as_str(), "");
    }

    #[test]
    fn text_enums_round_trip_and_name_the_choices_on_error() {
        for kind in UserKind::ALL {
            assert_eq!(UserKind::parse(kind.as_str()).unwrap(), *kind);
        }
        let err = DeviceOs::parse("solaris").unwrap_err();
        assert!(err.contains("windows, macos, linux"), "{err}");
    }

    #[test]
    fn a_user_cannot_manage_themselves() {
        let user = UserId::new_v7();
        assert!(check_manager(Some(user), &person(user, vec![])).is_err());
    }

    #[test]
    fn a_manager_chain_that_loops_back_is_rejected() {
        let (user, manager, grand) = (UserId::new_v7(), UserId::new_v7(), UserId::new_v7());
        let err = check_manager(Some(user), &person(manager, vec![grand, user])).unwrap_err();
        assert!(err.contains("cycle"));
    }

    #[test]
    fn integration_and_deactivated_users_cannot_manage() {
        let mut candidate = person(UserId::new_v7(), vec![]);
        candidate.kind = UserKind::Integration;
        assert!(check_manager(None, &candidate).is_err());
        let mut candidate = person(UserId::new_v7(), vec![]);
        candidate.active = false;
        assert!(check_manager(None, &candidate).is_err());
    }

    #[test]
    fn a_new_user_may_have_any_active_person_as_manager() {
        assert!(check_manager(None, &person(UserId::new_v7(), vec![UserId::new_v7()])).is_ok());
    }

    #[test]
    fn only_active_people_hold_access() {
        assert!(check_may_hold_access(UserKind::Person, true).is_ok());
        assert!(check_may_hold_access(UserKind::Integration, true).is_err());
        assert!(check_may_hold_access(UserKind::Person, false).is_err());
    }

    proptest! {
        #[test]
        fn parsed_display_names_are_trimmed_and_reparse_to_themselves(raw in "\\PC{0,250}") {
            if let Ok(name) = DisplayName::parse(&raw) {
                prop_assert_eq!(name.as_str(), name.as_str().trim());
                prop_assert_eq!(DisplayName::parse(name.as_str()).unwrap(), name);
            }
        }

        #[test]
        fn parsed_emails_are_canonical(local in "[A-Za-z0-9._%+-]{1,30}", domain in "[A-Za-z0-9]{1,20}\\.[a-z]{2,6}") {
            let email = Email::parse(&format!(" {local}@{domain} ")).unwrap();
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
            prop_assert_eq!(email.as_str().to_lowercase(), email.as_str());
        }
    }
}
