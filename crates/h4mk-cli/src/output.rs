//! Output files written atomically: into a temporary file beside the target, renamed into place
//! only once complete, so a failure never leaves a half-written output.
//!
//! Every file the CLI writes goes through [`AtomicFile`], most through [`write_to`], which also
//! sends the data to standard output when the path is `-`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

/// True for the path `-`, which names standard output (or input).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// An output file under construction.
///
/// Dropped without [`AtomicFile::commit`], it removes its temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
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
    /// Creates the temporary file beside `target`. With `sync`, every flush reaches the disk.
    pub fn create(target: &Path, sync: bool) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .with_context(|| format!("{} is not a file path", target.display()))?;
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
        Ok(AtomicFile {
            target: target.to_owned(),
            temp,
            writer: BufWriter::with_capacity(1 << 20, SyncOnFlush { file, sync }),
            committed: false,
        })
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
        if sync {
            self.writer
                .get_ref()
                .file
                .sync_all()
                .with_context(context)?;
        }
        fs::rename(&self.temp, &self.target).with_context(context)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
