//! Short-lived copies of what nearly every request reads: the caller's user (looked up by the
//! token's subject) and the settings. Without them each request pays a trip to the blocking pool
//! and a query before its own work.
//!
//! A change made through this server is seen by the next request: every write of users or settings
//! bumps a generation that is part of each key, so older entries are never read again. A change made
//! by another replica (PostgreSQL scale-out) is seen within [`TTL`], the longest an entry lives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use portcullis_domain::directory::User;
use portcullis_persistence::repo::settings::StoredSettings;

/// How long another replica's change to a user or to the settings may go unseen here.
pub const TTL: Duration = Duration::from_secs(2);

/// At most this many callers are remembered (a busy server's active users in one [`TTL`]).
const PRINCIPALS: u64 = 10_000;

/// The caches one server shares across its workers.
pub struct HotCache {
    users_generation: AtomicU64,
    principals: Cache<(u64, String), User>,
    settings_generation: AtomicU64,
    settings: Cache<u64, StoredSettings>,
}

impl Default for HotCache {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl HotCache {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            users_generation: AtomicU64::new(0),
            principals: Cache::builder()
                .max_capacity(PRINCIPALS)
                .time_to_live(ttl)
                .build(),
            settings_generation: AtomicU64::new(0),
            settings: Cache::builder().max_capacity(1).time_to_live(ttl).build(),
        }
    }

    /// The generation to read users under: pass it back to [`HotCache::remember_principal`], so
    /// that a user read before a change is not kept after it.
    pub fn users_generation(&self) -> u64 {
        self.users_generation.load(Ordering::Acquire)
    }

    pub fn principal(&self, generation: u64, subject: &str) -> Option<User> {
        self.principals.get(&(generation, subject.to_owned()))
    }

    pub fn remember_principal(&self, generation: u64, subject: String, user: User) {
        self.principals.insert((generation, subject), user);
    }

    /// Called after any change to existing users (unknown subjects are never cached, so a new
    /// user needs none): later requests read them again.
    pub fn users_changed(&self) {
        self.users_generation.fetch_add(1, Ordering::AcqRel);
        self.principals.invalidate_all();
    }

    pub fn settings_generation(&self) -> u64 {
        self.settings_generation.load(Ordering::Acquire)
    }

    pub fn settings(&self, generation: u64) -> Option<StoredSettings> {
        self.settings.get(&generation)
    }

    pub fn remember_settings(&self, generation: u64, settings: StoredSettings) {
        self.settings.insert(generation, settings);
    }

    /// Called after any write of the settings.
    pub fn settings_changed(&self) {
        self.settings_generation.fetch_add(1, Ordering::AcqRel);
        self.settings.invalidate_all();
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
        cache.remember_principal(before, "ada".to_owned(), user());
        assert!(cache.principal(before, "ada").is_some());
        cache.users_changed();
        let after = cache.users_generation();
        assert_ne!(before, after);
        assert!(cache.principal(after, "ada").is_none());
        // A lookup that started before the change and finishes after it is stored under the old
        // generation, where nobody reads any more.
        cache.remember_principal(before, "ada".to_owned(), user());
        assert!(cache.principal(cache.users_generation(), "ada").is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = HotCache::with_ttl(Duration::from_millis(50));
        let generation = cache.users_generation();
        cache.remember_principal(generation, "ada".to_owned(), user());
        assert!(cache.principal(generation, "ada").is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(cache.principal(generation, "ada").is_none());
    }
}
