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

#[cfg(test)]
mod tests {
    use super::super::Registry;
    use super::*;
    use crate::password::HashStrength;
    use crate::settings::RegistryOptions;
    use crate::store::tests::TempFile;

    fn open(file: &TempFile) -> Registry {
        let options = RegistryOptions {
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        };
        Registry::open(Location::File(file.0.clone()), &options).unwrap()
    }

    /// Clients of one file share its registry while any of them is open, whatever else opens and closes.
    #[test]
    fn clients_of_one_file_share_its_registry() {
        let (one, other) = (TempFile::new(), TempFile::new());
        let first = open(&one);
        let elsewhere = open(&other);
        let second = open(&one);
        assert!(Arc::ptr_eq(&first.shared, &second.shared));
        assert!(!Arc::ptr_eq(&first.shared, &elsewhere.shared));
        drop((first, second));
        // Reopened after every client closed: a new registry, which the next client shares in turn.
        let third = open(&one);
        let fourth = open(&one);
        assert!(Arc::ptr_eq(&third.shared, &fourth.shared));
        assert!(Arc::ptr_eq(&elsewhere.shared, &open(&other).shared));
    }
}
