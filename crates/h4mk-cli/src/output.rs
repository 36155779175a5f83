//! Output files written atomically: into a temporary file beside the target, renamed into place
//! only once complete, so a failure never leaves a half-written output.
//!
//! Every file the CLI writes goes through [`AtomicFile`], most through [`write_to`], which also
//! sends the data to standard output when the path is `-`.
//!
//! A path that leads through symbolic links to a regular file replaces that file and keeps the
//! links. A path to something that is not a regular file (a device such as `/dev/null`, a FIFO)
//! is written to in place, as standard output is: renaming over it would destroy it. A
//! directory, or a link that leads nowhere, is refused.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

use crate::UsageError;

/// Writes an output: `fill` writes the data to a temporary file that is renamed onto `path` only
/// once `fill` has succeeded, or, for the path `-`, straight to `stdout`.
///
/// On error nothing is left at `path` (an existing file there is untouched) and no temporary
/// file remains.
pub fn write_to<T>(
    path: &Path,
    stdout: &mut dyn Write,
    fill: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    if is_stdout(path) {
        let value = fill(stdout)?;
        stdout.flush().context("writing standard output")?;
        return Ok(value);
    }
    let mut file = AtomicFile::create(path, false)?;
    let value = fill(file.writer())?;
    file.commit()?;
    Ok(value)
}

/// What a progress bar counts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Progress {
    /// Bytes of a file read or written: a bar for 64 MiB or more.
    Bytes,
    /// Samples of audio (frames) read, at this rate: a bar for ten minutes or more.
    Samples(u32),
}

/// A bar on standard error for a job of `total` units, when standard error is a terminal and
/// the job is long enough to want one: ffmpeg and mkvmerge show how far they are, and a long
/// encode or decode said nothing for a minute (a scale review). Scripts, which read standard
/// error from a pipe, see nothing of it.
pub(crate) fn progress_bar(total: u64, unit: Progress) -> Option<indicatif::ProgressBar> {
    let (min, template) = match unit {
        Progress::Bytes => (64 << 20, "{bar:40} {bytes}/{total_bytes} {bytes_per_sec}"),
        Progress::Samples(rate) => (
            u64::from(rate).saturating_mul(600),
            "{bar:40} {pos}/{len} samples, {eta} left",
        ),
    };
    if total < min || !io::stderr().is_terminal() {
        return None;
    }
    // Cleared when dropped too, so that an error is not printed after a bar left standing.
    let bar = indicatif::ProgressBar::new(total).with_finish(indicatif::ProgressFinish::AndClear);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// A writer's error, said of `output` as every failed write is: `writing OUT: ` and the i/o
/// error itself for a failed write (a full disk), the error otherwise. `build`, `remux` and
/// `salvage` each said a full disk their own way, one of them of the manifest's block.
pub(crate) fn write_failed(output: &Path, e: h4mk_mt::Error) -> anyhow::Error {
    let context = format!("writing {}", output.display());
    match e {
        h4mk_mt::Error::Format(h4mk_format::Error::Io(io)) => {
            anyhow::Error::new(io).context(context)
        }
        e => anyhow::Error::new(e).context(context),
    }
}

/// The usage error for `-` given twice as an input: standard input can be read only once.
pub(crate) fn stdin_twice() -> anyhow::Error {
    UsageError("standard input (`-`) can be read only once".to_owned()).into()
}

/// Refuses to write `output` when it is the file `input` (by another name, or through links),
/// or, for the input `-`, the file standard input reads (`h4mk decode - -o f.h4mk < f.h4mk`):
/// replacing a file while reading it would lose it. Bad usage, so exit status 2.
pub fn refuse_input_as_output(input: &Path, output: &Path) -> Result<()> {
    let input_id = input_id(input);
    // Standard output redirected into the input (`-o - >> in.h4mk`) is the input too.
    let output_id = if is_stdout(output) {
        stdout_id()
    } else {
        file_id(output)
    };
    if input_id.is_some() && input_id == output_id {
        let what = if is_stdin(input) {
            "the file standard input reads".to_owned()
        } else {
            format!("the input file, {}", input.display())
        };
        let is = if is_stdout(output) {
            "standard output goes to"
        } else {
            "that is"
        };
        return Err(UsageError(format!("-o {}: {is} {what}", output.display())).into());
    }
    Ok(())
}

/// [`file_id`] of the input `path`: for `-`, of the file standard input reads, if any.
pub(crate) fn input_id(path: &Path) -> Option<FileId> {
    if is_stdin(path) {
        stdin_id()
    } else {
        file_id(path)
    }
}

/// What tells files apart: device and inode on Unix, the path links lead to elsewhere.
#[cfg(unix)]
pub(crate) type FileId = (u64, u64);
#[cfg(not(unix))]
pub(crate) type FileId = PathBuf;

/// What tells a file apart, through any links, when `path` leads to one: its device and inode.
#[cfg(unix)]
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    fs::metadata(path).ok().map(|m| metadata_id(&m))
}

#[cfg(unix)]
fn metadata_id(m: &fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// [`file_id`] of what standard input reads, when it is a regular file.
#[cfg(unix)]
fn stdin_id() -> Option<FileId> {
    stream_id(stdin_file()?)
}

/// [`file_id`] of what standard output writes to, when it is a regular file.
#[cfg(unix)]
fn stdout_id() -> Option<FileId> {
    use std::os::fd::AsFd;
    stream_id(regular_file(io::stdout().as_fd())?)
}

/// The regular file standard input reads (`< f`), sharing its position; `None` for a pipe or
/// a terminal.
#[cfg(unix)]
pub(crate) fn stdin_file() -> Option<File> {
    use std::os::fd::AsFd;
    regular_file(io::stdin().as_fd())
}

/// The file `fd` is open on, when it is a regular file (a terminal both streams share is not
/// one).
#[cfg(unix)]
fn regular_file(fd: std::os::fd::BorrowedFd<'_>) -> Option<File> {
    let file = File::from(fd.try_clone_to_owned().ok()?);
    file.metadata().ok()?.is_file().then_some(file)
}

/// [`file_id`] of an open file.
#[cfg(unix)]
fn stream_id(file: File) -> Option<FileId> {
    file.metadata().ok().map(|m| metadata_id(&m))
}

/// What tells a file apart, through any links, when `path` leads to one: the path it leads to.
#[cfg(not(unix))]
pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    fs::canonicalize(path).ok()
}

/// Standard input's file cannot be told apart here.
#[cfg(not(unix))]
fn stdin_id() -> Option<FileId> {
    None
}

/// Standard input's file is not looked at here.
#[cfg(not(unix))]
pub(crate) fn stdin_file() -> Option<File> {
    None
}

/// Standard output's file cannot be told apart here.
#[cfg(not(unix))]
fn stdout_id() -> Option<FileId> {
    None
}

/// True for an input path that names standard input: `-`, or a name the system gives it
/// (`/dev/stdin`), so that standard input named twice, once each way, is refused as `-`
/// twice is, rather than read by the first and found empty by the second (a review).
pub fn is_stdin(path: &Path) -> bool {
    ["-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]
        .iter()
        .any(|name| path.as_os_str() == *name)
}

/// True for an output path that names standard output: `-`, or a name the system gives it
/// (`/dev/stdout`). Written through the path, standard output redirected to a file (`>> log`)
/// would be replaced rather than appended to, and a report would follow the data into it.
pub fn is_stdout(path: &Path) -> bool {
    ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
        .iter()
        .any(|name| path.as_os_str() == *name)
}

/// Paths written by this process and not finished yet (temporary files, the block files and
/// folders of an extraction under way), by order of registration.
static UNFINISHED: Mutex<BTreeMap<u64, PathBuf>> = Mutex::new(BTreeMap::new());
static NEXT_UNFINISHED: AtomicU64 = AtomicU64::new(0);

fn unfinished() -> std::sync::MutexGuard<'static, BTreeMap<u64, PathBuf>> {
    UNFINISHED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A file or folder this process made and has not finished with:
/// [`remove_unfinished_and_exit`] removes it if the process is interrupted first. Dropping
/// the guard keeps the path.
#[derive(Debug)]
pub(crate) struct Unfinished(u64);

impl Unfinished {
    /// Registers `path` before it is made (a file about to be renamed into place).
    pub(crate) fn new(path: PathBuf) -> Self {
        let id = NEXT_UNFINISHED.fetch_add(1, Ordering::Relaxed);
        unfinished().insert(id, path);
        Unfinished(id)
    }

    /// Runs `make`, which makes a path and returns it, with the registry locked, and registers
    /// the path: once [`remove_unfinished_and_exit`] has swept, nothing new can be made (the
    /// handler keeps the lock until the process ends), and nothing made escapes the sweep.
    pub(crate) fn make<T>(
        make: impl FnOnce() -> io::Result<(PathBuf, T)>,
    ) -> io::Result<(Self, T)> {
        let mut registry = unfinished();
        let (path, value) = make()?;
        let id = NEXT_UNFINISHED.fetch_add(1, Ordering::Relaxed);
        registry.insert(id, path);
        Ok((Unfinished(id), value))
    }

    /// Removes the path now (a file, or a folder if empty).
    pub(crate) fn remove(self) {
        if let Some(path) = unfinished().remove(&self.0) {
            remove_path(&path);
        }
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        unfinished().remove(&self.0);
    }
}

fn remove_path(path: &Path) {
    if fs::remove_file(path).is_err() {
        let _ = fs::remove_dir(path);
    }
}

/// Removes every unfinished path, the newest first (files before the folders made for them),
/// and ends the process with `code`, the registry still locked so that no path is made or
/// registered after the sweep. For a signal handler, which runs beside the main thread.
pub fn remove_unfinished_and_exit(code: i32) -> ! {
    let registry = unfinished();
    remove_all(&registry);
    std::process::exit(code)
}

/// Removes every unfinished path, from a handler in signal context
/// (`input::clean_up_on_sigbus`): removing allocates nothing for a path shorter than 384
/// bytes. The registry is tried, not locked: when it is held, the holder is the thread of an
/// interrupt sweeping it, which ends the process once done, so this waits for that (a sleep
/// is async-signal-safe) rather than end the process in the middle of the sweep.
pub(crate) fn remove_unfinished_now() {
    loop {
        match UNFINISHED.try_lock() {
            Ok(registry) => return remove_all(&registry),
            Err(std::sync::TryLockError::Poisoned(registry)) => {
                return remove_all(&registry.into_inner());
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

/// Removes the registered paths, the newest first.
fn remove_all(registry: &BTreeMap<u64, PathBuf>) {
    for path in registry.values().rev() {
        remove_path(path);
    }
}

/// An output file under construction.
///
/// Dropped without [`AtomicFile::commit`], it removes its temporary file. A target that is not
/// a regular file has no temporary file: it is written in place.
#[derive(Debug)]
pub struct AtomicFile {
    /// The path as given, for messages.
    target: PathBuf,
    /// The temporary file, and the file it replaces when committed; `None` when written in
    /// place.
    rename: Option<(PathBuf, PathBuf)>,
    writer: BufWriter<SyncOnFlush>,
    committed: bool,
    /// The temporary file, removed if the process is interrupted.
    _unfinished: Option<Unfinished>,
}

/// A file whose `flush` also asks the OS to put the data on disk, when `sync` is on.
#[derive(Debug)]
pub struct SyncOnFlush {
    file: File,
    sync: bool,
}

impl Write for SyncOnFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.sync {
            self.file.sync_data()
        } else {
            Ok(())
        }
    }
}

thread_local! {
    /// Whether this run refuses to replace an existing file (`-n`): per thread, since tests
    /// run commands in process, side by side, and a run creates its files on its own thread.
    static NO_CLOBBER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `-n` (`--no-clobber`) for the run on this thread, until dropped.
pub(crate) struct NoClobber(());

impl NoClobber {
    pub(crate) fn set(on: bool) -> NoClobber {
        NO_CLOBBER.set(on);
        NoClobber(())
    }
}

impl Drop for NoClobber {
    fn drop(&mut self) {
        NO_CLOBBER.set(false);
    }
}

/// Whether this run keeps existing files (`-n`).
pub(crate) fn no_clobber() -> bool {
    NO_CLOBBER.get()
}

/// The error for an output that exists, with `-n`.
pub(crate) fn exists(target: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "writing {}: the file exists, and -n (--no-clobber) keeps it",
        target.display()
    )
}

impl AtomicFile {
    /// Creates the temporary file beside the file `target` leads to (or opens `target` itself
    /// when it is not a regular file). With `sync`, every flush reaches the disk. With `-n`,
    /// an existing target (a file, a link, anything) is refused, here and again as the file
    /// is put in place.
    pub fn create(target: &Path, sync: bool) -> Result<Self> {
        let context = || format!("writing {}", target.display());
        if NO_CLOBBER.get() && fs::symlink_metadata(target).is_ok() {
            return Err(exists(target));
        }
        // The file replaced, if any, whose permissions the new one keeps.
        let mut replaced = None;
        let dest = match fs::metadata(target) {
            Ok(m) if m.is_dir() => bail!("writing {}: is a directory", target.display()),
            Ok(m) if !m.is_file() => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(target)
                    .with_context(context)?;
                return Ok(AtomicFile {
                    target: target.to_owned(),
                    rename: None,
                    writer: Self::buffer(file, false),
                    committed: false,
                    _unfinished: None,
                });
            }
            // Through any links: the file they lead to is the one to replace.
            Ok(m) => {
                replaced = Some(m.permissions());
                fs::canonicalize(target).with_context(context)?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(target).is_ok() {
                    bail!(
                        "writing {}: a symbolic link to nothing, not followed",
                        target.display()
                    );
                }
                target.to_owned()
            }
            Err(e) => return Err(e).with_context(context),
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .with_context(|| format!("{} is not a file path", target.display()))?;
        let name = name.to_string_lossy();
        let (unfinished, (temp, file)) = Unfinished::make(|| {
            let (temp, file) = create_temp(&dir, &name)?;
            Ok((temp.clone(), (temp, file)))
        })
        .with_context(context)?;
        let permissions = replaced.map(|p| file.set_permissions(p));
        let atomic = AtomicFile {
            target: target.to_owned(),
            _unfinished: Some(unfinished),
            rename: Some((temp, dest)),
            writer: Self::buffer(file, sync),
            committed: false,
        };
        // On an error, dropping `atomic` removes the temporary file.
        permissions.transpose().with_context(context)?;
        Ok(atomic)
    }

    fn buffer(file: File, sync: bool) -> BufWriter<SyncOnFlush> {
        BufWriter::with_capacity(1 << 20, SyncOnFlush { file, sync })
    }

    /// The writer to fill.
    pub fn writer(&mut self) -> &mut BufWriter<SyncOnFlush> {
        &mut self.writer
    }

    /// Flushes, syncs and renames the temporary file onto the target.
    pub fn commit(self) -> Result<()> {
        self.finish(true)
    }

    /// Flushes and renames the temporary file onto the target without waiting for the disk.
    ///
    /// Readers still never see a partial file; only a crash of the machine right after the
    /// rename could leave the target empty. For outputs written by the thousand (one file per
    /// block), where a sync each costs milliseconds and the output is cheap to write again.
    pub fn commit_unsynced(self) -> Result<()> {
        self.finish(false)
    }

    fn finish(mut self, sync: bool) -> Result<()> {
        let context = || format!("writing {}", self.target.display());
        self.writer.flush().with_context(context)?;
        if let Some((temp, dest)) = &self.rename {
            if sync {
                self.writer
                    .get_ref()
                    .file
                    .sync_all()
                    .with_context(context)?;
            }
            if NO_CLOBBER.get() {
                // A link fails if the target appeared meanwhile, where a rename would replace
                // it; the temporary file then goes, as on any failure.
                match fs::hard_link(temp, dest) {
                    Ok(()) => fs::remove_file(temp).with_context(context)?,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(exists(&self.target));
                    }
                    // A file system without links: looked at, then renamed.
                    Err(_) if fs::symlink_metadata(dest).is_ok() => {
                        return Err(exists(&self.target));
                    }
                    Err(_) => fs::rename(temp, dest).with_context(context)?,
                }
            } else {
                fs::rename(temp, dest).with_context(context)?;
            }
        }
        self.committed = true;
        Ok(())
    }
}

/// Creates a new temporary file in `dir` for the target `name`: `.NAME.PID.N.tmp`, with the
/// name cut to keep it within the 255 bytes most file systems allow. It must not exist yet, as
/// a file or a link (`O_EXCL`): a link planted under a predictable name would otherwise be
/// followed and the file it leads to overwritten. A name taken moves on to the next `N`.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut cut = name.len().min(TEMP_NAME_KEEP);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = name.get(..cut).unwrap_or_default();
    let pid = std::process::id();
    let mut n = 0u32;
    loop {
        let temp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < TEMP_TRIES => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Bytes of the target's name kept in its temporary file's name.
const TEMP_NAME_KEEP: usize = 200;
/// Temporary names tried before giving up.
const TEMP_TRIES: u32 = 100;

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some((temp, _)) = &self.rename
            && !self.committed
        {
            let _ = fs::remove_file(temp);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// An empty folder of its own for a test named `name`.
    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("h4mk_{name}_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).expect("a test folder in the temporary folder");
        dir
    }

    /// The temporary name is predictable: a link planted there used to be followed, and the
    /// file it led to overwritten. And a long target name left no room for the temporary
    /// name's additions ("File name too long").
    #[test]
    fn the_temporary_file_is_new_and_its_name_fits() {
        let dir = fresh_dir("output_temp");
        fs::write(dir.join("victim"), b"victim").unwrap();
        let planted = dir.join(format!(".out.{}.0.tmp", std::process::id()));
        std::os::unix::fs::symlink(dir.join("victim"), &planted).unwrap();
        let long = "x".repeat(250);
        for name in ["out", &long] {
            let mut file = AtomicFile::create(&dir.join(name), false).unwrap();
            file.writer().write_all(name.as_bytes()).unwrap();
            file.commit().unwrap();
            assert_eq!(fs::read(dir.join(name)).unwrap(), name.as_bytes());
        }
        assert_eq!(fs::read(dir.join("victim")).unwrap(), b"victim");
        assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// With `-n`, a target that appears while the output is written (another program's) is
    /// kept: the temporary file is linked into place, which fails where a rename would
    /// replace it, and is removed. Without `-n` it is replaced, as before.
    #[test]
    fn a_target_that_appears_meanwhile_is_kept() {
        let dir = fresh_dir("no_clobber");
        let target = dir.join("out");
        for on in [true, false] {
            let _ = fs::remove_file(&target);
            let _set = NoClobber::set(on);
            let mut file = AtomicFile::create(&target, false).unwrap();
            file.writer().write_all(b"ours").unwrap();
            fs::write(&target, b"theirs").unwrap();
            let committed = file.commit();
            let want: &[u8] = if on { b"theirs" } else { b"ours" };
            assert_eq!(fs::read(&target).unwrap(), want, "-n {on}");
            assert_eq!(committed.is_err(), on, "-n {on}");
            if on {
                assert!(
                    AtomicFile::create(&target, false).is_err(),
                    "refused up front"
                );
            }
            let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
            assert_eq!(left.len(), 1, "a temporary file was left");
        }
        assert!(!no_clobber(), "-n outlived its run");
        fs::remove_dir_all(&dir).unwrap();
    }
}
