//! Black-box test crate: see `tests/api/`.
