//! Rows as stored (plain strings, integers and UTC timestamps) and their conversion into domain
//! entities. A row that does not convert means the database holds something the domain forbids,
//! which is reported as a deserialization error rather than silently passed on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::directory::{
    CertificateFingerprint, Description, Device, DeviceName, DeviceOs, DisplayName, Email,
    ExternalId, Group, GroupName, Membership, MembershipSource, User, UserKind,
};

use crate::page::Cursor;
use crate::schema::{device_assignments, devices, events, memberships, user_groups, users};
use crate::time::from_db;

type ConversionError = Box<dyn std::error::Error + Send + Sync>;

fn field<T, E: std::fmt::Display>(name: &str, result: Result<T, E>) -> Result<T, ConversionError> {
    result.map_err(|e| format!("stored {name} is invalid: {e}").into())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = users, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub manager_id: Option<String>,
    pub is_admin: bool,
    pub active: bool,
    pub kind: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.as_str().to_owned(),
            manager_id: user.manager_id.map(|id| id.to_string()),
            is_admin: user.is_admin,
            active: user.active,
            kind: user.kind.as_str().to_owned(),
            external_id: user.external_id.as_ref().map(|e| e.as_str().to_owned()),
            version: user.version,
            created_at: crate::time::to_db(user.created_at),
            updated_at: crate::time::to_db(user.updated_at),
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = ConversionError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: field("user id", row.id.parse())?,
            email: field("email", Email::parse(&row.email))?,
            display_name: field("display name", DisplayName::parse(&row.display_name))?,
            manager_id: row
                .manager_id
                .map(|id| field("manager id", id.parse()))
                .transpose()?,
            is_admin: row.is_admin,
            active: row.active,
            kind: field("user kind", UserKind::parse(&row.kind))?,
            external_id: row
                .external_id
                .map(|e| field("external id", ExternalId::parse(&e)))
                .transpose()?,
            version: row.version,
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_groups)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl GroupRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

impl From<&Group> for GroupRow {
    fn from(group: &Group) -> Self {
        Self {
            id: group.id.to_string(),
            name: group.name.as_str().to_owned(),
            description: group.description.as_str().to_owned(),
            version: group.version,
            created_at: crate::time::to_db(group.created_at),
            updated_at: crate::time::to_db(group.updated_at),
        }
    }
}

impl TryFrom<GroupRow> for Group {
    type Error = ConversionError;

    fn try_from(row: GroupRow) -> Result<Self, Self::Error> {
        Ok(Group {
            id: field("group id", row.id.parse())?,
            name: field("group name", GroupName::parse(&row.name))?,
            description: field("description", Description::parse(&row.description))?,
            version: row.version,
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships, treat_none_as_default_value = false)]
pub struct MembershipRow {
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub source: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl MembershipRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

impl From<&Membership> for MembershipRow {
    fn from(m: &Membership) -> Self {
        Self {
            id: m.id.to_string(),
            group_id: m.group_id.to_string(),
            user_id: m.user_id.to_string(),
            source: m.source.as_str().to_owned(),
            expires_at: m.expires_at.map(crate::time::to_db),
            created_at: crate::time::to_db(m.created_at),
        }
    }
}

impl TryFrom<MembershipRow> for Membership {
    type Error = ConversionError;

    fn try_from(row: MembershipRow) -> Result<Self, Self::Error> {
        Ok(Membership {
            id: field("membership id", row.id.parse())?,
            group_id: field("group id", row.group_id.parse())?,
            user_id: field("user id", row.user_id.parse())?,
            source: field("membership source", MembershipSource::parse(&row.source))?,
            expires_at: row.expires_at.map(from_db),
            created_at: from_db(row.created_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = devices, treat_none_as_null = true)]
pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub os: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub managed: bool,
    pub certificate_fingerprint: Option<String>,
}

impl DeviceRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }

    pub fn into_device(self, assigned: Vec<String>) -> Result<Device, ConversionError> {
        Ok(Device {
            id: field("device id", self.id.parse())?,
            name: field("device name", DeviceName::parse(&self.name))?,
            os: field("device os", DeviceOs::parse(&self.os))?,
            assigned_user_ids: assigned
                .iter()
                .map(|id| field("assigned user id", id.parse()))
                .collect::<Result<_, _>>()?,
            certificate_fingerprint: self
                .certificate_fingerprint
                .as_deref()
                .map(|f| field("certificate fingerprint", CertificateFingerprint::parse(f)))
                .transpose()?,
            version: self.version,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

impl From<&Device> for DeviceRow {
    fn from(device: &Device) -> Self {
        Self {
            id: device.id.to_string(),
            name: device.name.as_str().to_owned(),
            os: device.os.as_str().to_owned(),
            version: device.version,
            created_at: crate::time::to_db(device.created_at),
            updated_at: crate::time::to_db(device.updated_at),
            managed: device.managed(),
            certificate_fingerprint: device
                .certificate_fingerprint
                .as_ref()
                .map(|f| f.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_assignments)]
pub struct DeviceAssignmentRow {
    pub device_id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub subject_type: String,
    pub subject_id: String,
    pub data: String,
}
