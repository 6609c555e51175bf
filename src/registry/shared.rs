//! The registries open in this process, by store identity: a second client of a file shares the first one's
//! store, settings and snapshots, so opening it costs a lookup instead of a SQLite open and its checks, and
//! what one client's reads built serves the others.

use std::sync::{Arc, Mutex, Weak};

use super::{lock, Shared};
use crate::store::{self, Identity, Location};

/// Open registries; an entry goes when its last client closes (the store closes then).
static OPEN: Mutex<Vec<(Identity, Weak<Shared>)>> = Mutex::new(Vec::new());

/// The registry open at `location` in this process, if any.
pub(super) fn find(location: &Location) -> Option<Arc<Shared>> {
    let identity = store::identity(location)?;
    lock(&OPEN)
        .iter()
        .find(|(open, _)| *open == identity)
        .and_then(|(_, shared)| shared.upgrade())
}

/// Make `shared` findable by the identity of its store.
pub(super) fn remember(shared: &Arc<Shared>) {
    let Some(identity) = store::identity(shared.store.location()) else {
        return;
    };
    let mut open = lock(&OPEN);
    open.retain(|(_, shared)| shared.strong_count() > 0);
    open.push((identity, Arc::downgrade(shared)));
}
