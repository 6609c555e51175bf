//! Locks that another copy of SQLite in the same process cannot drop, and closes that cannot drop its locks.
//!
//! This crate links its own SQLite. A process that also uses another copy (Python's `sqlite3` module, in a
//! notebook inspecting the registry) holds two, and SQLite's locks are POSIX record locks: they belong to the
//! process, and closing *any* descriptor of a file drops all of them. Each copy's closes dropped the other's
//! locks, so a reader in one copy read pages the other's checkpoint was rewriting ("database disk image is
//! malformed"), files were corrupted and acknowledged writes lost (SQLite documents the hazard: "multiple
//! copies of SQLite linked into the same application"). Sharing one library is not possible in general (the
//! interpreter's SQLite may be static, or older than this crate needs), so our copy changes how it locks and
//! closes, through the system-call table SQLite's unix VFS lets an application replace (`xSetSystemCall`):
//!
//! - Lock requests become open file description (OFD) locks, which belong to one open file description
//!   rather than to the process: no close by the other copy drops them, and they still conflict with the
//!   other copy's POSIX locks (and with other processes'). SQLite's unix VFS counts its connections' locks
//!   per file and asks the kernel once per file, as if for the whole process; so every request for a file goes
//!   to one descriptor of that file (the first one locked), which makes our copy one lock owner, as a process
//!   was.
//! - A descriptor of a file SQLite locks (the database and its `-shm` file) is not closed while anybody may
//!   hold a lock on the file: a close would drop the other copy's POSIX locks. It is kept, and handed back to
//!   the next open of the same file with the same access. Once none of our descriptors of the file is in use,
//!   our locks on it are released (as the close would have), and the kept descriptors are closed under a
//!   write lock on the whole file, which proves that nobody holds a lock, and keeps it so until the last
//!   close; if somebody does, they stay kept and are tried again at later opens. So a process holds
//!   descriptors only for registries in use, or held by the other copy. The `-wal` and `-journal` files are
//!   never locked, and a deleted file cannot be locked by anyone who opens it later: those are closed.
//!
//! The registry's own opens of the file (creating it, checking its header and mode) go through the same table
//! (`open`), for the same reason. Linux only (OFD locks, and the table's `fcntl` is called with the variadic
//! convention, which Linux ABIs pass in the same registers as fixed arguments); elsewhere nothing changes and
//! the README's warning applies.

use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::os::fd::{FromRawFd, RawFd};
use std::path::Path;

/// A file opened through the kept-descriptor table: dropping it hands the descriptor back instead of closing it.
#[derive(Debug)]
pub struct KeptFile {
    file: ManuallyDrop<File>,
}

impl Deref for KeptFile {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl Drop for KeptFile {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        imp::close(self.file.as_raw_fd());
    }
}

/// Open `path` with open(2)'s `flags` and `mode` (when it creates the file), as SQLite's opens are.
pub fn open(path: &Path, flags: i32, mode: u32) -> io::Result<KeptFile> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path holds a NUL byte"))?;
    install();
    let fd: RawFd = imp::open(&path, flags | libc::O_CLOEXEC, mode as libc::c_int);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened (or handed back) for this caller alone, and is closed only through `imp`.
    let file = unsafe { File::from_raw_fd(fd) };
    Ok(KeptFile {
        file: ManuallyDrop::new(file),
    })
}

/// Put the table in place, before our copy of SQLite opens any file. Idempotent.
pub fn install() {
    imp::install();
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::HashMap;
    use std::ffi::{c_char, c_int, c_void, CStr};
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, MutexGuard, Once};

    use rusqlite::ffi;

    /// A file, as the kernel knows it: device and inode.
    type FileId = (u64, u64);

    /// Descriptors below this are never kept: SQLite closes and reopens a database that lands on 0, 1 or 2
    /// (`robust_open`), so that a stray write to stdout cannot reach it.
    const FIRST_KEPT: RawFd = 3;

    #[derive(Debug, Clone, Copy)]
    struct Opened {
        file: FileId,
        /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`: a kept descriptor is handed back only for the same access.
        access: c_int,
        /// Closing would drop another copy's locks on the file (see the module's comment).
        keep: bool,
    }

    #[derive(Debug, Default)]
    struct KnownFile {
        /// How many of our descriptors of the file are open for SQLite (or for `super::open`'s caller).
        in_use: usize,
        /// The descriptor every lock request for the file goes to.
        lock_fd: Option<RawFd>,
        /// Descriptors closed by their user and kept open, with their access.
        idle: Vec<(RawFd, c_int)>,
    }

    #[derive(Debug, Default)]
    struct Table {
        open: HashMap<RawFd, Opened>,
        files: HashMap<FileId, KnownFile>,
    }

    static TABLE: Mutex<Option<Table>> = Mutex::new(None);
    static INSTALL: Once = Once::new();
    /// Cleared if the kernel refuses OFD locks (older than Linux 3.15, or an emulation without them): requests
    /// then go to the descriptor they name, as POSIX locks, as SQLite would have made them.
    static OFD_LOCKS: AtomicBool = AtomicBool::new(true);

    fn table() -> MutexGuard<'static, Option<Table>> {
        TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn install() {
        INSTALL.call_once(|| {
            *table() = Some(Table::default());
            // SAFETY: `sqlite3_vfs_find` returns the registered unix VFS (static for the process). Its
            // system-call table is shared by the unix VFS variants and replaced before this copy of SQLite
            // opens any file (every open in this crate calls `install` first); each replacement has the
            // signature SQLite calls it with.
            unsafe {
                let vfs = ffi::sqlite3_vfs_find(c"unix".as_ptr());
                let Some(set) = vfs.as_ref().and_then(|vfs| vfs.xSetSystemCall) else {
                    return;
                };
                type Open = unsafe extern "C" fn(*const c_char, c_int, c_int) -> c_int;
                type Close = unsafe extern "C" fn(c_int) -> c_int;
                type Fcntl = unsafe extern "C" fn(c_int, c_int, *mut c_void) -> c_int;
                type Any = unsafe extern "C" fn();
                let calls: [(&CStr, Any); 3] = [
                    (c"open", std::mem::transmute::<Open, Any>(sqlite_open)),
                    (c"close", std::mem::transmute::<Close, Any>(sqlite_close)),
                    (c"fcntl", std::mem::transmute::<Fcntl, Any>(sqlite_fcntl)),
                ];
                for (name, call) in calls {
                    set(vfs, name.as_ptr(), Some(call));
                }
            }
        });
    }

    /// SQLite's `open`: `int (*)(const char*, int, int)`.
    unsafe extern "C" fn sqlite_open(path: *const c_char, flags: c_int, mode: c_int) -> c_int {
        // SAFETY: SQLite passes a NUL-terminated path.
        open(unsafe { CStr::from_ptr(path) }, flags, mode)
    }

    /// SQLite's `close`: `int (*)(int)`.
    unsafe extern "C" fn sqlite_close(fd: c_int) -> c_int {
        close(fd)
    }

    /// SQLite's `fcntl`, called as `int (*)(int, int, ...)` with one argument after the command; on Linux's
    /// ABIs a variadic argument arrives where a third fixed one would (Rust cannot define variadic functions).
    pub(super) unsafe extern "C" fn sqlite_fcntl(
        fd: c_int,
        command: c_int,
        argument: *mut c_void,
    ) -> c_int {
        let ofd_command = match command {
            libc::F_SETLK => libc::F_OFD_SETLK,
            libc::F_SETLKW => libc::F_OFD_SETLKW,
            libc::F_GETLK => libc::F_OFD_GETLK,
            // SAFETY: passed on as SQLite gave it.
            _ => return unsafe { libc::fcntl(fd, command, argument) },
        };
        let lock_fd = if OFD_LOCKS.load(Ordering::Relaxed) {
            lock_descriptor(fd)
        } else {
            None
        };
        let Some(lock_fd) = lock_fd else {
            // SAFETY: as above.
            return unsafe { libc::fcntl(fd, command, argument) };
        };
        let lock = argument.cast::<libc::flock>();
        // SAFETY: for these commands SQLite passes a `struct flock`; OFD requests require `l_pid` to be 0.
        unsafe { (*lock).l_pid = 0 };
        // SAFETY: `lock_fd` is a descriptor of the same file, closed only once none of ours is in use (and `fd`
        // is in use).
        let done = unsafe { libc::fcntl(lock_fd, ofd_command, lock) };
        if done == -1 && io_errno() == libc::EINVAL {
            // No OFD locks here. Nothing was locked through them (this is the first request, as every
            // request fails alike), so POSIX locks from now on are consistent.
            OFD_LOCKS.store(false, Ordering::Relaxed);
            // SAFETY: as above.
            return unsafe { libc::fcntl(fd, command, argument) };
        }
        done
    }

    fn io_errno() -> c_int {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// The descriptor lock requests on `fd`'s file go to: the first one locked, for as long as it is open.
    fn lock_descriptor(fd: RawFd) -> Option<RawFd> {
        let mut guard = table();
        let table = guard.as_mut()?;
        let opened = *table.open.get(&fd)?;
        let known = table.files.entry(opened.file).or_default();
        Some(*known.lock_fd.get_or_insert(fd))
    }

    fn file_id(stat: &libc::stat) -> FileId {
        (stat.st_dev, stat.st_ino)
    }

    fn regular(stat: &libc::stat) -> bool {
        stat.st_mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Flags a kept descriptor satisfies: the access, and those that do nothing to a regular file that exists.
    fn reusable(flags: c_int) -> bool {
        let harmless = libc::O_ACCMODE
            | libc::O_CREAT
            | libc::O_NOFOLLOW
            | libc::O_NONBLOCK
            | libc::O_CLOEXEC
            | libc::O_LARGEFILE;
        flags & !harmless == 0
    }

    pub(super) fn open(path: &CStr, flags: c_int, mode: c_int) -> RawFd {
        let access = flags & libc::O_ACCMODE;
        if reusable(flags) {
            // SAFETY: `path` is NUL-terminated; `stat` is written by the call.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            let found = unsafe {
                if flags & libc::O_NOFOLLOW != 0 {
                    libc::lstat(path.as_ptr(), &mut stat)
                } else {
                    libc::stat(path.as_ptr(), &mut stat)
                }
            };
            if found == 0 && regular(&stat) {
                if let Some(fd) = hand_back(file_id(&stat), access) {
                    return fd;
                }
            }
        }
        // SAFETY: a plain open(2); the mode is read only when the file is created.
        let fd = unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) };
        if fd >= FIRST_KEPT {
            record(fd, path, access);
        }
        fd
    }

    fn hand_back(file: FileId, access: c_int) -> Option<RawFd> {
        let mut guard = table();
        let table = guard.as_mut()?;
        let known = table.files.get_mut(&file)?;
        let at = known.idle.iter().position(|(_, idle)| *idle == access)?;
        let (fd, _) = known.idle.swap_remove(at);
        known.in_use += 1;
        table.open.insert(
            fd,
            Opened {
                file,
                access,
                keep: true,
            },
        );
        // As a new descriptor would be: its last user may have read (SQLite itself only uses pread/pwrite).
        // SAFETY: `fd` is open.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
        Some(fd)
    }

    fn record(fd: RawFd, path: &CStr, access: c_int) {
        // SAFETY: `fd` is open; `stat` is written by the call.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut stat) } != 0 || !regular(&stat) {
            return;
        }
        let name = path.to_bytes();
        let keep = !(name.ends_with(b"-wal") || name.ends_with(b"-journal"));
        if let Some(table) = table().as_mut() {
            sweep(table);
            let file = file_id(&stat);
            table.files.entry(file).or_default().in_use += 1;
            table.open.insert(fd, Opened { file, access, keep });
        }
    }

    /// Close what could not be closed before (another copy held a lock then) of files nobody here uses.
    fn sweep(table: &mut Table) {
        table.files.retain(|_, known| {
            if known.in_use == 0 {
                release(known);
            }
            known.in_use > 0 || !known.idle.is_empty()
        });
    }

    pub(super) fn close(fd: RawFd) -> c_int {
        let mut guard = table();
        let Some(table) = guard.as_mut() else {
            return real_close(fd);
        };
        let Some(opened) = table.open.remove(&fd) else {
            return real_close(fd);
        };
        let known = table.files.entry(opened.file).or_default();
        known.in_use = known.in_use.saturating_sub(1);
        // Without OFD locks, keeping descriptors protects nothing: the other copy's closes drop ours anyway.
        let done = if opened.keep && OFD_LOCKS.load(Ordering::Relaxed) && still_linked(fd) {
            known.idle.push((fd, opened.access));
            0
        } else {
            if known.lock_fd == Some(fd) {
                known.lock_fd = None;
            }
            real_close(fd)
        };
        if known.in_use == 0 {
            settle(known);
            if known.idle.is_empty() {
                table.files.remove(&opened.file);
            }
        }
        done
    }

    fn real_close(fd: RawFd) -> c_int {
        // SAFETY: the caller owns `fd` and gives it up.
        unsafe { libc::close(fd) }
    }

    /// None of our descriptors of the file is in use, so SQLite holds no lock on it: do what closing them would
    /// have done to our locks, and close them if that drops nobody else's.
    fn settle(known: &mut KnownFile) {
        // SQLite relies on the close of the `-shm` file to release its "dead man switch" lock.
        if let Some(lock_fd) = known.lock_fd.take() {
            whole_file(lock_fd, libc::F_OFD_SETLK, libc::F_UNLCK);
        }
        release(known);
    }

    /// Close the file's idle descriptors if nobody (another copy here, another process) holds a lock on it:
    /// closing drops every POSIX lock this process holds on the file. A write lock on the whole file proves
    /// that nobody does, and keeps it so until the last of them is closed, which releases it. Read-only
    /// descriptors (a registry this process may not write) cannot take it: for them the kernel is asked
    /// whether anybody holds a lock, which leaves the moment between its answer and the closes open.
    fn release(known: &mut KnownFile) {
        let writable = known
            .idle
            .iter()
            .position(|(_, access)| *access != libc::O_RDONLY);
        let unlocked = match writable {
            Some(at) => {
                // Closed last: its lock must outlive every other close.
                let last = known.idle.len() - 1;
                known.idle.swap(at, last);
                whole_file(known.idle[last].0, libc::F_OFD_SETLK, libc::F_WRLCK) == 0
            }
            None => match known.idle.first() {
                Some(&(fd, _)) => nobody_locks(fd),
                None => return,
            },
        };
        if unlocked {
            for (fd, _) in known.idle.drain(..) {
                real_close(fd);
            }
        }
    }

    fn nobody_locks(fd: RawFd) -> bool {
        let mut lock = whole_file_request(libc::F_WRLCK);
        // SAFETY: `fd` is open; `lock` is a valid request, answered in place.
        let asked = unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut lock) };
        asked == 0 && c_int::from(lock.l_type) == libc::F_UNLCK
    }

    fn whole_file_request(kind: c_int) -> libc::flock {
        // SAFETY: a plain-old-data struct; zero is "from the start, to the end of the file, and beyond".
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = kind as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        lock
    }

    /// An OFD lock `command` of `kind` over the whole file.
    fn whole_file(fd: RawFd, command: c_int, kind: c_int) -> c_int {
        let mut lock = whole_file_request(kind);
        // SAFETY: `fd` is open; `lock` is a valid request.
        unsafe { libc::fcntl(fd, command, &mut lock) }
    }

    /// Whether the file still has a name: nobody can open (and lock) a deleted file again.
    fn still_linked(fd: RawFd) -> bool {
        // SAFETY: `fd` is open; `stat` is written by the call.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        unsafe { libc::fstat(fd, &mut stat) == 0 && stat.st_nlink > 0 }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    use super::*;
    use crate::store::tests::TempDir;

    /// A file of ten bytes, alone in a directory of its own that goes when this is dropped.
    struct Scratch {
        file: std::path::PathBuf,
        _dir: TempDir,
    }

    impl std::ops::Deref for Scratch {
        type Target = std::path::Path;

        fn deref(&self) -> &std::path::Path {
            &self.file
        }
    }

    impl AsRef<std::path::Path> for Scratch {
        fn as_ref(&self) -> &std::path::Path {
            &self.file
        }
    }

    fn scratch() -> Scratch {
        let dir = TempDir::new();
        let file = dir.0.join("file");
        std::fs::write(&file, b"0123456789").unwrap();
        Scratch { file, _dir: dir }
    }

    /// A lock request of `kind` on the file's byte `byte`.
    fn byte_lock(kind: libc::c_int, byte: i64) -> libc::flock {
        // SAFETY: a plain-old-data struct; every field is set or zero.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = kind as i16;
        lock.l_whence = libc::SEEK_SET as i16;
        lock.l_start = byte;
        lock.l_len = 1;
        lock
    }

    /// Another SQLite in this process, holding a POSIX lock on the file's byte `byte`.
    fn other_copy_locking_byte(path: &std::path::Path, byte: i64) -> std::fs::File {
        let theirs = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        assert_eq!(other_copy_tries(&theirs, byte), 0);
        theirs
    }

    /// The other copy asks for a POSIX write lock on byte `byte` through `theirs`: 0 if granted.
    fn other_copy_tries(theirs: &std::fs::File, byte: i64) -> i32 {
        let mut lock = byte_lock(libc::F_WRLCK, byte);
        // SAFETY: a POSIX record lock on an open descriptor.
        unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_SETLK, &mut lock) }
    }

    /// Another SQLite in this process, holding a POSIX lock on the file's first byte.
    fn other_copy_locking(path: &std::path::Path) -> std::fs::File {
        other_copy_locking_byte(path, 0)
    }

    /// SQLite's lock call (`command` is `F_SETLK`, `F_SETLKW` or `F_GETLK`) on `fd` for `kind` on byte `byte`,
    /// as its unix VFS makes it: `l_pid` is left as the stack had it, never 0. The answer, and the request as
    /// the call left it.
    fn sqlite_lock(
        fd: RawFd,
        command: libc::c_int,
        kind: libc::c_int,
        byte: i64,
    ) -> (i32, libc::flock) {
        install();
        let mut lock = byte_lock(kind, byte);
        lock.l_pid = 4242;
        // SAFETY: a `struct flock` for a lock command, as SQLite passes it.
        let done =
            unsafe { imp::sqlite_fcntl(fd, command, (&mut lock as *mut libc::flock).cast()) };
        (done, lock)
    }

    /// The lock anybody but `probe`'s own open file description holds on byte `byte` (`F_UNLCK` if none).
    /// Asked through `probe`, which must stay open: closing a descriptor of the file drops this process's
    /// POSIX locks on it.
    fn held_on(probe: &std::fs::File, byte: i64) -> i32 {
        let mut asked = byte_lock(libc::F_WRLCK, byte);
        // SAFETY: an OFD lock query on an open descriptor (it sees the process's POSIX locks too).
        assert_eq!(
            unsafe { libc::fcntl(probe.as_raw_fd(), libc::F_OFD_GETLK, &mut asked) },
            0
        );
        i32::from(asked.l_type)
    }

    /// The file's inode number.
    fn inode(fd: RawFd) -> Option<u64> {
        // SAFETY: `stat` is written by the call, which fails on a closed descriptor.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstat(fd, &mut stat) } == 0).then_some(stat.st_ino)
    }

    /// Whether `fd` is still open on the file of inode `ino` (tests run in parallel: a closed descriptor's
    /// number may already name another test's file).
    fn is_open(fd: RawFd, ino: Option<u64>) -> bool {
        inode(fd) == ino
    }

    /// A file another copy locks (its handle returned), which we opened, read from and closed: our
    /// descriptor of it is kept.
    fn kept_descriptor() -> (Scratch, std::fs::File, RawFd, Option<u64>) {
        let path = scratch();
        let theirs = other_copy_locking(&path);
        let first = open(&path, libc::O_RDONLY, 0).unwrap();
        let (fd, ino) = (first.as_raw_fd(), inode(first.as_raw_fd()));
        (&*first).read_exact(&mut [0u8; 4]).unwrap();
        drop(first);
        assert!(is_open(fd, ino), "kept while the other copy holds a lock");
        (path, theirs, fd, ino)
    }

    #[test]
    fn a_file_nobody_locks_is_closed() {
        let path = scratch();
        let file = open(&path, libc::O_RDONLY, 0).unwrap();
        let (fd, ino) = (file.as_raw_fd(), inode(file.as_raw_fd()));
        drop(file);
        assert!(!is_open(fd, ino));
    }

    #[test]
    fn a_file_another_copy_locks_is_kept_handed_back_and_closed_later() {
        let (path, theirs, fd, ino) = kept_descriptor();
        let mut head = [0u8; 4];
        let again = open(&path, libc::O_RDONLY, 0).unwrap();
        assert_eq!(again.as_raw_fd(), fd);
        (&*again).read_exact(&mut head).unwrap();
        assert_eq!(&head, b"0123", "handed back from the start");
        drop(again);
        // The other copy's lock survived our close, and is released by its own.
        let probe = std::fs::File::open(&path).unwrap();
        assert_eq!(held_on(&probe, 0), libc::F_WRLCK);
        drop(probe);
        drop(theirs);
        // The next open of any file closes what nobody locks any more.
        drop(open(&scratch(), libc::O_RDONLY, 0).unwrap());
        assert!(!is_open(fd, ino));
    }

    /// A kept descriptor goes back only to an open of its own file whose flags change nothing: another file,
    /// or an open that must create the file, gets its own answer.
    #[test]
    fn a_kept_descriptor_goes_back_only_to_its_file_and_harmless_flags() {
        let (path, theirs, fd, ino) = kept_descriptor();
        let other = open(&scratch(), libc::O_RDONLY, 0).unwrap();
        assert_ne!(inode(other.as_raw_fd()), ino);
        drop(other);
        let exclusive = open(&path, libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL, 0o600);
        assert_eq!(
            exclusive.map(drop).unwrap_err().raw_os_error(),
            Some(libc::EEXIST)
        );
        assert!(is_open(fd, ino), "still kept for its own file");
        // Flags that change nothing for an existing regular file take it; a link is followed only when
        // allowed to be.
        let harmless = libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
        let again = open(&path, harmless, 0o600).unwrap();
        assert_eq!(again.as_raw_fd(), fd);
        drop(again);
        let link = path.with_file_name("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let refused = open(&link, libc::O_RDONLY | libc::O_NOFOLLOW, 0);
        assert_eq!(
            refused.map(drop).unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
        let followed = open(&link, libc::O_RDONLY, 0).unwrap();
        assert_eq!(followed.as_raw_fd(), fd);
        drop(followed);
        drop(theirs);
    }

    /// Every descriptor is close-on-exec, whatever flags its opener gave (a child process must not hold our
    /// files, nor drop their locks by closing them).
    #[test]
    fn descriptors_are_close_on_exec() {
        let path = scratch();
        for flags in [libc::O_RDONLY, libc::O_RDONLY | libc::O_CLOEXEC] {
            let file = open(&path, flags, 0).unwrap();
            // SAFETY: F_GETFD on an open descriptor.
            let fd_flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) };
            assert_eq!(fd_flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC, "{flags:#o}");
        }
    }

    /// SQLite opens a database's directory to sync it: that descriptor is closed at once, never kept, even
    /// while another copy holds a lock on the directory.
    #[test]
    fn a_directorys_descriptor_is_closed() {
        let path = scratch();
        let theirs = std::fs::File::open(path.parent().unwrap()).unwrap();
        let mut lock = byte_lock(libc::F_RDLCK, 0);
        // SAFETY: a POSIX record lock on an open descriptor.
        assert_eq!(
            unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_SETLK, &mut lock) },
            0
        );
        let directory = open(path.parent().unwrap(), libc::O_RDONLY, 0).unwrap();
        let (fd, ino) = (directory.as_raw_fd(), inode(directory.as_raw_fd()));
        drop(directory);
        assert!(!is_open(fd, ino));
    }

    #[test]
    fn a_deleted_file_is_closed() {
        let path = scratch();
        let _theirs = other_copy_locking(&path);
        let file = open(&path, libc::O_RDONLY, 0).unwrap();
        let (fd, ino) = (file.as_raw_fd(), inode(file.as_raw_fd()));
        std::fs::remove_file(&path).unwrap();
        drop(file);
        assert!(!is_open(fd, ino));
    }

    /// SQLite never locks a `-wal` or `-journal` file: ours are closed even while another copy locks one.
    #[test]
    fn wal_and_journal_files_are_closed() {
        for suffix in ["-wal", "-journal"] {
            let path = scratch();
            let path = path.with_file_name(format!("rbac.db{suffix}"));
            std::fs::write(&path, b"0123456789").unwrap();
            let _theirs = other_copy_locking(&path);
            let file = open(&path, libc::O_RDONLY, 0).unwrap();
            let (fd, ino) = (file.as_raw_fd(), inode(file.as_raw_fd()));
            drop(file);
            assert!(!is_open(fd, ino), "{suffix}");
        }
    }

    #[test]
    fn locks_survive_another_copys_close_and_conflict_with_its_locks() {
        let path = scratch();
        let ours = open(&path, libc::O_RDWR, 0).unwrap();
        assert_eq!(
            sqlite_lock(ours.as_raw_fd(), libc::F_SETLK, libc::F_WRLCK, 0).0,
            0
        );
        // Another SQLite in this process opens the file, tries the same lock and closes its descriptor.
        let theirs = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        assert_eq!(
            other_copy_tries(&theirs, 0),
            -1,
            "the other copy must not get the byte we hold"
        );
        drop(theirs);
        let probe = std::fs::File::open(&path).unwrap();
        assert_eq!(held_on(&probe, 0), libc::F_WRLCK, "our lock is still held");
    }

    /// Our copy sees the other copy's locks, and cannot take them, whichever lock call SQLite makes.
    #[test]
    fn the_other_copys_locks_are_seen_and_respected() {
        let path = scratch();
        let theirs = other_copy_locking(&path);
        let ours = open(&path, libc::O_RDWR, 0).unwrap();
        let (asked, answer) = sqlite_lock(ours.as_raw_fd(), libc::F_GETLK, libc::F_RDLCK, 0);
        assert_eq!(asked, 0);
        assert_eq!(i32::from(answer.l_type), libc::F_WRLCK);
        assert_eq!(
            sqlite_lock(ours.as_raw_fd(), libc::F_SETLK, libc::F_RDLCK, 0).0,
            -1
        );
        // A waiting request for a byte nobody holds is granted at once, and refused to the other copy.
        assert_eq!(
            sqlite_lock(ours.as_raw_fd(), libc::F_SETLKW, libc::F_WRLCK, 1).0,
            0
        );
        assert_eq!(other_copy_tries(&theirs, 1), -1);
    }

    /// SQLite counts its locks per file, so every request for a file goes to one descriptor while any of ours
    /// is in use: closing one of them, even one handed back, keeps the locks; only the last close releases them
    /// (SQLite relies on that for the `-shm` file's lock), though the descriptors stay kept.
    #[test]
    fn locks_are_held_until_the_last_of_our_descriptors_closes() {
        let path = scratch();
        // Holding another byte, so that our descriptors are kept and handed back.
        let theirs = other_copy_locking_byte(&path, 9);
        let first = open(&path, libc::O_RDWR, 0).unwrap();
        let kept = first.as_raw_fd();
        drop(first);
        let handed_back = open(&path, libc::O_RDWR, 0).unwrap();
        assert_eq!(handed_back.as_raw_fd(), kept);
        let second = open(&path, libc::O_RDWR, 0).unwrap();
        assert_eq!(
            sqlite_lock(second.as_raw_fd(), libc::F_SETLK, libc::F_RDLCK, 0).0,
            0
        );
        // A sweep (any open) while the file is in use forgets nothing: the same lock owner answers.
        drop(open(&scratch(), libc::O_RDONLY, 0).unwrap());
        assert_eq!(
            sqlite_lock(handed_back.as_raw_fd(), libc::F_SETLK, libc::F_WRLCK, 0).0,
            0
        );
        drop(handed_back);
        assert_eq!(
            held_on(&theirs, 0),
            libc::F_WRLCK,
            "held while one is in use"
        );
        let (second_fd, ino) = (second.as_raw_fd(), inode(second.as_raw_fd()));
        drop(second);
        assert_eq!(
            held_on(&theirs, 0),
            libc::F_UNLCK,
            "released by the last close"
        );
        assert!(
            is_open(second_fd, ino),
            "kept: the other copy still holds a lock"
        );
        drop(theirs);
    }

    /// The descriptor lock requests go to is forgotten when it is really closed (its file was deleted): the
    /// next request goes to a descriptor still open, and locks the file.
    #[test]
    fn a_closed_lock_descriptor_is_replaced() {
        let path = scratch();
        let probe = std::fs::File::open(&path).unwrap();
        let first = open(&path, libc::O_RDWR, 0).unwrap();
        let second = open(&path, libc::O_RDWR, 0).unwrap();
        assert_eq!(
            sqlite_lock(first.as_raw_fd(), libc::F_SETLK, libc::F_WRLCK, 0).0,
            0
        );
        assert_eq!(
            sqlite_lock(first.as_raw_fd(), libc::F_SETLK, libc::F_UNLCK, 0).0,
            0
        );
        std::fs::remove_file(&path).unwrap();
        drop(first);
        assert_eq!(
            sqlite_lock(second.as_raw_fd(), libc::F_SETLK, libc::F_WRLCK, 0).0,
            0
        );
        assert_eq!(held_on(&probe, 0), libc::F_WRLCK);
    }

    /// Kept descriptors go back only to opens of their own access, and are all closed once nobody locks the
    /// file: the read-write one takes the whole-file write lock that proves it (a read-only one cannot).
    #[test]
    fn kept_descriptors_keep_their_access_and_are_closed_together() {
        let path = scratch();
        let theirs = other_copy_locking(&path);
        let reader = open(&path, libc::O_RDONLY, 0).unwrap();
        let writer = open(&path, libc::O_RDWR, 0).unwrap();
        let (reader_fd, writer_fd) = (reader.as_raw_fd(), writer.as_raw_fd());
        let ino = inode(reader_fd);
        drop(reader);
        drop(writer);
        let again = open(&path, libc::O_RDWR, 0).unwrap();
        assert_eq!(again.as_raw_fd(), writer_fd);
        assert_eq!((&*again).write(b"x").unwrap(), 1);
        drop(again);
        let again = open(&path, libc::O_RDONLY, 0).unwrap();
        assert_eq!(again.as_raw_fd(), reader_fd);
        drop(again);
        assert!(is_open(reader_fd, ino) && is_open(writer_fd, ino));
        drop(theirs);
        drop(open(&scratch(), libc::O_RDONLY, 0).unwrap());
        assert!(!is_open(reader_fd, ino) && !is_open(writer_fd, ino));
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::ffi::{c_int, CStr};
    use std::os::fd::RawFd;

    pub(super) fn install() {}

    pub(super) fn open(path: &CStr, flags: c_int, mode: c_int) -> RawFd {
        // SAFETY: a plain open(2).
        unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) }
    }

    pub(super) fn close(fd: RawFd) -> c_int {
        // SAFETY: the caller owns `fd` and gives it up.
        unsafe { libc::close(fd) }
    }
}
