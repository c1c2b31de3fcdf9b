//! The export's body: CSV (RFC 4180, formula-looking cells neutralised) or a JSON array, batch by batch.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_persistence::repo::requests::ExportRow;

use super::params::ExportFormat;
use crate::error::ApiError;
use crate::services::queue::ExportBody;

/// Renders the export in one format; knows whether a batch is the first of the body.
pub(super) struct Renderer {
    pub format: ExportFormat,
    pub first: bool,
}

impl ExportBody for Renderer {
    fn start(&mut self) -> Vec<u8> {
        match self.format {
            ExportFormat::Json => b"[".to_vec(),
            ExportFormat::Csv => Vec::new(),
        }
    }

    fn batch(&mut self, rows: &[ExportRow], people: &[User]) -> Result<Vec<u8>, ApiError> {
        let chunk = render(self.format, rows, people, self.first);
        self.first = false;
        chunk
    }

    fn end(&mut self) -> Vec<u8> {
        match self.format {
            ExportFormat::Json => b"]".to_vec(),
            ExportFormat::Csv => Vec::new(),
        }
    }
}

/// Neutralises a CSV cell that a spreadsheet would run as a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

const COLUMNS: [&str; 16] = [
    "id",
    "status",
    "flow_id",
    "flow_name",
    "requester_id",
    "requester_name",
    "requester_email",
    "approval_type",
    "reason",
    "duration_seconds",
    "created_at",
    "decided_at",
    "decided_by",
    // The answers to the flow's request form, as a JSON object (`{}` when none).
    "form",
    // `true` for a request made through a break-glass flow, `false` otherwise.
    "break_glass",
    // When the requester asked the access to start (empty: on approval).
    "starts_at",
];

fn cells(row: &ExportRow, people: &[User]) -> [String; 16] {
    let r = &row.request;
    let requester = people.iter().find(|p| p.id == r.requester_id());
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default()
    };
    [
        r.id().to_string(),
        r.status().to_string(),
        r.flow_id().to_string(),
        r.flow_name().to_owned(),
        r.requester_id().to_string(),
        requester
            .map(|p| p.display_name.to_string())
            .unwrap_or_default(),
        requester.map(|p| p.email.to_string()).unwrap_or_default(),
        r.approval_type().to_string(),
        r.reason().to_owned(),
        r.duration_seconds()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        time(Some(r.created_at())),
        time(r.decided_at()),
        row.decided_by.clone().unwrap_or_default(),
        serde_json::to_string(r.form()).unwrap_or_default(),
        r.break_glass().to_string(),
        time(r.starts_at()),
    ]
}

/// Renders one batch of rows in the export's format; `first` says whether nothing was sent yet.
fn render(
    format: ExportFormat,
    rows: &[ExportRow],
    people: &[User],
    first: bool,
) -> Result<Vec<u8>, ApiError> {
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            if first {
                writer.write_record(COLUMNS).map_err(ApiError::internal)?;
            }
            for row in rows {
                let values = cells(row, people);
                writer
                    .write_record(values.iter().map(|v| neutralise(v).into_owned()))
                    .map_err(ApiError::internal)?;
            }
            writer.into_inner().map_err(ApiError::internal)
        }
        ExportFormat::Json => {
            let mut out = Vec::new();
            for (index, row) in rows.iter().enumerate() {
                if !(first && index == 0) {
                    out.push(b',');
                }
                let values = cells(row, people);
                let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(values)
                    .map(|(k, v)| {
                        (
                            (*k).to_owned(),
                            if v.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::String(v)
                            },
                        )
                    })
                    .collect();
                serde_json::to_writer(&mut out, &object).map_err(ApiError::internal)?;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_looking_cells_are_neutralised() {
        for cell in ["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
        assert_eq!(neutralise("plain text"), "plain text");
        assert_eq!(neutralise(""), "");
    }
}
