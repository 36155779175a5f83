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

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Refuses to write `output` when it is the file `input` (by another name, or through links):
/// replacing a file while reading it would lose it. Bad usage, so exit status 2.
pub fn refuse_input_as_output(input: &Path, output: &Path) -> Result<()> {
    if is_stdout(input) || is_stdout(output) {
        return Ok(());
    }
    if same_file(input, output) {
        return Err(UsageError(format!(
            "-o {}: that is the input file, {}",
            output.display(),
            input.display()
        ))
        .into());
    }
    Ok(())
}

/// Whether both paths exist and are the same file (hard links included, on Unix).
fn same_file(a: &Path, b: &Path) -> bool {
    file_id(a).is_some_and(|a| file_id(b) == Some(a))
}

/// What tells a file apart, through any links, when `path` leads to one: its device and inode.
#[cfg(unix)]
pub(crate) fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// What tells a file apart, through any links, when `path` leads to one: the path it leads to.
#[cfg(not(unix))]
pub(crate) fn file_id(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// True for the path `-`, which names standard output (or input).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
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

impl AtomicFile {
    /// Creates the temporary file beside the file `target` leads to (or opens `target` itself
    /// when it is not a regular file). With `sync`, every flush reaches the disk.
    pub fn create(target: &Path, sync: bool) -> Result<Self> {
        let context = || format!("writing {}", target.display());
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
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).with_context(context)?;
        let permissions = replaced.map(|p| file.set_permissions(p));
        let atomic = AtomicFile {
            target: target.to_owned(),
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
            fs::rename(temp, dest).with_context(context)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some((temp, _)) = &self.rename
            && !self.committed
        {
            let _ = fs::remove_file(temp);
        }
    }
}
