//! The last user or role list read, reused while the stored change count says it is current.

use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::store::Names;

/// Longer lists (about 50 MiB of names) are read anew each time rather than held in memory.
const MAX_HELD_NAMES: usize = 2_000_000;

/// One list and the change count it was read at. Reading the count is one lookup, where reading the list is
/// one row per name: a list of 100 users cost a third less this way.
#[derive(Debug, Default)]
pub(super) struct HeldList {
    held: Mutex<Option<(u64, Arc<Names>)>>,
}

impl HeldList {
    /// The list at change count `version`: the held one if it was read at that count, else `read`'s. Call
    /// it inside the transaction that read `version`, so that the two agree.
    pub(super) fn at(
        &self,
        version: u64,
        read: impl FnOnce() -> Result<Names>,
    ) -> Result<Arc<Names>> {
        if let Some((held_version, names)) = &*self.lock() {
            if *held_version == version {
                return Ok(Arc::clone(names));
            }
        }
        let names = Arc::new(read()?);
        if names.len() <= MAX_HELD_NAMES {
            *self.lock() = Some((version, Arc::clone(&names)));
        }
        Ok(names)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Arc<Names>)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_read_again_only_when_its_version_changes() {
        let held = HeldList::default();
        let reads = std::cell::Cell::new(0);
        let read = |names: &'static [&'static str]| {
            reads.set(reads.get() + 1);
            Ok(names.iter().collect::<Names>())
        };
        assert!(held.at(1, || read(&["a"])).unwrap().contains("a"));
        assert!(held.at(1, || read(&["b"])).unwrap().contains("a"));
        assert_eq!(reads.get(), 1);
        assert!(held.at(2, || read(&["b"])).unwrap().contains("b"));
        assert!(held.at(1, || read(&["a"])).unwrap().contains("a"));
        assert_eq!(reads.get(), 3);
    }
}
