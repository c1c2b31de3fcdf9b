//! Keyset pagination: newest first, id as tie-break, stable while rows are inserted.

use chrono::NaiveDateTime;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: NaiveDateTime,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that more exist.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> Cursor) -> Self {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&cursor_of)
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            next: self.next,
        })
    }

    /// Rows to fetch for a request: one more than the page, to learn whether another follows.
    pub fn fetch_size(request: &PageRequest) -> i64 {
        i64::from(request.limit) + 1
    }
}

/// Restricts a boxed query to rows after `$cursor` in (created_at DESC, id DESC) order and applies
/// that order and the fetch size.
#[macro_export]
macro_rules! keyset_page {
    ($query:expr, $created_at:expr, $id:expr, $request:expr) => {{
        use diesel::prelude::*;
        let request: &$crate::PageRequest = $request;
        let mut query = $query;
        if let Some(cursor) = &request.after {
            // The first bound repeats what the second implies: it gives SQLite an index range
            // (without it, the OR turns into two index searches and a sort of every row after).
            query = query.filter($created_at.le(cursor.created_at)).filter(
                $created_at.lt(cursor.created_at).or($created_at
                    .eq(cursor.created_at)
                    .and($id.lt(cursor.id.clone()))),
            );
        }
        query
            .order(($created_at.desc(), $id.desc()))
            .limit($crate::Page::<()>::fetch_size(request))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(n: &i32) -> Cursor {
        Cursor {
            created_at: NaiveDateTime::default(),
            id: n.to_string(),
        }
    }

    #[test]
    fn an_extra_row_means_another_page_follows_from_the_last_kept_row() {
        let page = Page::from_rows(vec![5, 4, 3], 2, cursor);
        assert_eq!(page.items, vec![5, 4]);
        assert_eq!(page.next.unwrap().id, "4");
    }

    #[test]
    fn a_short_page_is_the_last() {
        let page = Page::from_rows(vec![5, 4], 2, cursor);
        assert_eq!(page.items, vec![5, 4]);
        assert!(page.next.is_none());
    }
}
