//! How a flow lets the holder of an active timed grant ask for more time (an extension request
//! through the same flow): which approval it needs and how far the grant may be stretched.

use serde::{Deserialize, Serialize};

use crate::text_enum;
use crate::validation::ValidationErrors;

text_enum!(
    /// `same`: an extension goes through the flow's own approvals; `automatic`: it is approved at
    /// once; `none`: the flow's grants cannot be extended.
    ExtensionApproval { Same => "same", Automatic => "automatic", None => "none" }
);

/// A flow's extension rules (`resource_request` flows with timed access only). Without them an
/// extension goes through the flow's own approvals, with no limit but the flow's durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "approval": "automatic", "max_count": 2, "max_total_seconds": 14400 })))]
#[serde(deny_unknown_fields)]
pub struct Extensions {
    pub approval: ExtensionApproval,
    /// How many extensions one grant may get (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_count: Option<i64>,
    /// How much time, in all, extensions may add to one grant (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60))]
    pub max_total_seconds: Option<i64>,
}

impl Extensions {
    /// The rules as the flow holds them: limits positive, and only where there is a time to extend.
    pub(super) fn check(&self, timed: bool, errors: &mut ValidationErrors) {
        if !timed {
            errors.push(
                "extensions",
                "only a resource_request flow with timed_access has grants to extend",
            );
        }
        if self.max_count.is_some_and(|n| n < 1) {
            errors.push("extensions.max_count", "must be at least 1");
        }
        if self.max_total_seconds.is_some_and(|s| s < 60) {
            errors.push("extensions.max_total_seconds", "must be at least 60");
        }
    }
}
