//! Short-lived copies of what nearly every request reads: the caller's user (looked up by the
//! token's subject) and the settings. Without them each request pays a trip to the blocking pool
//! and a query before its own work.
//!
//! A change made through this server is seen by the next request: every write of users or settings
//! bumps a generation that is part of each key, so older entries are never read again. A change made
//! by another replica (PostgreSQL scale-out) is seen within [`TTL`], the longest an entry lives.
//!
//! The entries sit in `quick_cache` maps (no background work, lookups by a borrowed key) with the
//! instant they stop being served beside them: an entry past it is a miss. A user is kept behind an
//! [`Arc`], so a hit hands out a pointer, not a copy of its strings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portcullis_domain::directory::User;
use portcullis_persistence::repo::settings::StoredSettings;
use quick_cache::Equivalent;
use quick_cache::sync::Cache;

/// How long another replica's change to a user or to the settings may go unseen here.
pub const TTL: Duration = Duration::from_secs(2);

/// At most this many callers are remembered (a busy server's active users in one [`TTL`]).
const PRINCIPALS: usize = 10_000;

/// A cached value and the instant it stops being served.
#[derive(Clone)]
struct Fresh<T> {
    until: Instant,
    value: T,
}

impl<T> Fresh<T> {
    fn current(self) -> Option<T> {
        (Instant::now() < self.until).then_some(self.value)
    }
}

/// A principal's key looked up without allocating: `(generation, subject)` hashes and compares as
/// the stored `(u64, String)` does.
#[derive(Hash)]
struct SubjectKey<'a>(u64, &'a str);

impl Equivalent<(u64, String)> for SubjectKey<'_> {
    fn equivalent(&self, key: &(u64, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// The caches one server shares across its workers.
pub struct HotCache {
    ttl: Duration,
    users_generation: AtomicU64,
    principals: Cache<(u64, String), Fresh<Arc<User>>>,
    settings_generation: AtomicU64,
    settings: Cache<u64, Fresh<StoredSettings>>,
}

impl Default for HotCache {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl HotCache {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            users_generation: AtomicU64::new(0),
            principals: Cache::new(PRINCIPALS),
            settings_generation: AtomicU64::new(0),
            settings: Cache::new(1),
        }
    }

    fn fresh<T>(&self, value: T) -> Fresh<T> {
        Fresh {
            until: Instant::now() + self.ttl,
            value,
        }
    }

    /// The generation to read users under: pass it back to [`HotCache::remember_principal`], so
    /// that a user read before a change is not kept after it.
    pub fn users_generation(&self) -> u64 {
        self.users_generation.load(Ordering::Acquire)
    }

    pub fn principal(&self, generation: u64, subject: &str) -> Option<Arc<User>> {
        self.principals
            .get(&SubjectKey(generation, subject))
            .and_then(Fresh::current)
    }

    pub fn remember_principal(&self, generation: u64, subject: String, user: Arc<User>) {
        self.principals
            .insert((generation, subject), self.fresh(user));
    }

    /// Called after any change to existing users (unknown subjects are never cached, so a new
    /// user needs none): later requests read them again.
    pub fn users_changed(&self) {
        self.users_generation.fetch_add(1, Ordering::AcqRel);
        self.principals.clear();
    }

    pub fn settings_generation(&self) -> u64 {
        self.settings_generation.load(Ordering::Acquire)
    }

    pub fn settings(&self, generation: u64) -> Option<StoredSettings> {
        self.settings.get(&generation).and_then(Fresh::current)
    }

    pub fn remember_settings(&self, generation: u64, settings: StoredSettings) {
        self.settings.insert(generation, self.fresh(settings));
    }

    /// Called after any write of the settings.
    pub fn settings_changed(&self) {
        self.settings_generation.fetch_add(1, Ordering::AcqRel);
        self.settings.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        use portcullis_domain::directory::{DisplayName, Email, UserKind};
        let now = chrono::Utc::now();
        User {
            id: portcullis_domain::UserId::new_v7(),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: DisplayName::parse("Ada Lovelace").unwrap(),
            manager_id: None,
            is_admin: false,
            active: true,
            kind: UserKind::Person,
            external_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_user_read_before_a_change_is_not_served_after_it() {
        let cache = HotCache::default();
        let before = cache.users_generation();
        cache.remember_principal(before, "ada".to_owned(), Arc::new(user()));
        assert!(cache.principal(before, "ada").is_some());
        cache.users_changed();
        let after = cache.users_generation();
        assert_ne!(before, after);
        assert!(cache.principal(after, "ada").is_none());
        // A lookup that started before the change and finishes after it is stored under the old
        // generation, where nobody reads any more.
        cache.remember_principal(before, "ada".to_owned(), Arc::new(user()));
        assert!(cache.principal(cache.users_generation(), "ada").is_none());
    }

    #[test]
    fn the_settings_are_kept_until_they_change() {
        use portcullis_domain::settings::Settings;
        let cache = HotCache::default();
        let generation = cache.settings_generation();
        let stored = StoredSettings {
            settings: Settings::default(),
            version: 7,
            updated_at: chrono::Utc::now(),
        };
        cache.remember_settings(generation, stored);
        assert_eq!(cache.settings(generation).map(|s| s.version), Some(7));
        assert_eq!(cache.settings(generation).map(|s| s.version), Some(7));
        cache.settings_changed();
        assert!(cache.settings(cache.settings_generation()).is_none());
        assert!(cache.settings(generation).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = HotCache::with_ttl(Duration::from_millis(50));
        let generation = cache.users_generation();
        cache.remember_principal(generation, "ada".to_owned(), Arc::new(user()));
        assert!(cache.principal(generation, "ada").is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(cache.principal(generation, "ada").is_none());
    }
}
