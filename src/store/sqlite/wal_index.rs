//! Whether anything was committed since a given moment, told without a transaction.
//!
//! In WAL mode SQLite keeps the WAL index in shared memory (the `-shm` file), whose header every commit
//! rewrites: its change counter counts commits, and the last frame and the salts move with them (format:
//! <https://www.sqlite.org/walformat.html>, "The WAL-Index Header"). Copying the header costs nanoseconds;
//! asking SQLite for the registry's change count costs a read transaction (most of a file registry's read).
//! So the store reads the header before each version check: while the header is the one read before the
//! previous check's transaction, nothing was committed since, and that check's answer stands.
//!
//! The header is read from SQLite's own mapping of the shared memory, reached through its VFS (`xShmMap`),
//! never through a file descriptor of ours: closing one would drop the POSIX locks SQLite holds on the file.
//! The mapping stays valid while the connection it was reached through is open. Reads follow SQLite's own
//! protocol (`walIndexTryHdr`): copy the first header, a barrier, copy the second; copies that differ (a
//! commit in flight) or a header that is not initialised are no answer, and the store asks SQLite instead.

use std::ffi::c_void;
use std::sync::atomic::{fence, Ordering};

use rusqlite::{ffi, Connection};

/// The header, as 32-bit words (48 bytes).
pub(super) type Header = [u32; 12];

/// WAL-index regions are 32 KiB; the header is at the start of the first one.
const REGION_BYTES: i32 = 32 * 1024;
/// `iVersion`, the first word of a header SQLite wrote.
const WAL_INDEX_VERSION: u32 = 3_007_000;

/// SQLite's mapping of one database's WAL index.
#[derive(Debug)]
pub(super) struct WalIndex {
    region: *const u32,
}

// SAFETY: the region is shared memory that SQLite maps for the connection's lifetime and that this type only
// ever reads, with volatile reads, from any thread (as SQLite's own readers do, in every process).
unsafe impl Send for WalIndex {}
// SAFETY: as above: nothing is ever written through `region`.
unsafe impl Sync for WalIndex {}

impl WalIndex {
    /// The WAL index of `connection`'s main database, if it has one mapped (a database in WAL mode that has
    /// been read). The caller keeps `connection` open for as long as it uses the answer.
    pub(super) fn of(connection: &Connection) -> Option<WalIndex> {
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: `handle` is the open connection's; SQLITE_FCNTL_FILE_POINTER writes the main database's
        // `sqlite3_file*` (valid while the connection is open) into `file`.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                connection.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast::<c_void>(),
            )
        };
        if rc != ffi::SQLITE_OK || file.is_null() {
            return None;
        }
        // SAFETY: `file` is a live `sqlite3_file`; `pMethods` is null for a file that is not open.
        let methods = unsafe { (*file).pMethods };
        if methods.is_null() {
            return None;
        }
        // SAFETY: `methods` points to the VFS's method table; shared memory exists from version 2 on.
        let map = unsafe {
            if (*methods).iVersion < 2 {
                return None;
            }
            (*methods).xShmMap?
        };
        let mut region: *mut c_void = std::ptr::null_mut();
        // SAFETY: region 0 of the size SQLite's WAL uses, without extending the file: for a mapped region
        // this returns SQLite's existing mapping, which lives until the connection's shared memory is unmapped
        // (when it closes).
        let rc = unsafe { map(file, 0, REGION_BYTES, 0, &mut region) };
        if rc != ffi::SQLITE_OK || region.is_null() {
            return None;
        }
        let index = WalIndex {
            region: region.cast::<u32>().cast_const(),
        };
        index.header().map(|_| index)
    }

    /// The header now, if it reads consistently.
    pub(super) fn header(&self) -> Option<Header> {
        let mut first = [0u32; 12];
        let mut second = [0u32; 12];
        for (at, word) in first.iter_mut().enumerate() {
            // SAFETY: the region is at least 32 KiB, mapped and aligned (it is page-aligned); the header's two
            // copies are its first 96 bytes. Volatile: another process may write them at any time.
            *word = unsafe { self.region.add(at).read_volatile() };
        }
        fence(Ordering::SeqCst);
        for (at, word) in second.iter_mut().enumerate() {
            // SAFETY: as above; the second copy follows the first.
            *word = unsafe { self.region.add(12 + at).read_volatile() };
        }
        // `isInit` is the byte at offset 12: the first, in memory, of word 3.
        let initialised = first[3].to_ne_bytes()[0] != 0;
        (first == second && first[0] == WAL_INDEX_VERSION && initialised).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;

    /// The header's answer only when both copies agree, on a header SQLite initialised in its own format:
    /// each other case (another process in mid-commit, a new WAL index, a format this code does not know),
    /// written into the shared memory as another process would, is no answer.
    #[test]
    fn only_a_whole_initialised_header_answers() {
        let file = crate::store::tests::TempFile::new();
        let connection = Connection::open(&file.0).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let index = WalIndex::of(&connection).unwrap();
        let header = index.header().unwrap();
        assert_eq!(header[0], WAL_INDEX_VERSION);
        let mut shm_path = file.0.clone().into_os_string();
        shm_path.push("-shm");
        let shm = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(shm_path)
            .unwrap();
        let second = std::mem::size_of::<Header>() as u64;
        let flipped: fn(u8) -> u8 = |byte| !byte;
        // The byte at `offset` in the copies at `copies`, changed by `change`, then restored.
        for (case, offset, copies, change) in [
            (
                "a commit in flight: the copies differ",
                16,
                vec![second],
                flipped,
            ),
            ("another format's version", 0, vec![0, second], flipped),
            ("not initialised", 12, vec![0, second], |_| 0),
        ] {
            let mut saved = [0u8];
            shm.read_exact_at(&mut saved, offset).unwrap();
            for copy in &copies {
                shm.write_all_at(&[change(saved[0])], offset + copy)
                    .unwrap();
            }
            assert_eq!(index.header(), None, "{case}");
            for copy in &copies {
                shm.write_all_at(&saved, offset + copy).unwrap();
            }
            assert_eq!(index.header(), Some(header), "{case}, undone");
        }
    }
}
