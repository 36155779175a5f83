//! Input files: memory-mapped so opening costs nothing whatever the size (standard input too,
//! when the path is `-` and it is redirected from a file), or read whole from a pipe; or, for
//! an input read once from start to end, opened to be read a buffer at a time.
//!
//! This module holds the workspace's `unsafe` blocks: the mapping, and the handler for the
//! signal a mapping raises when another program cuts its file short.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result, bail};

use crate::output::{is_stdin, stdin_file};

/// The bytes of an input file.
#[derive(Debug)]
pub struct Input {
    path: PathBuf,
    bytes: Bytes,
}

#[derive(Debug)]
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Input {
    /// Maps the file at `path`, or reads all of it when it is a pipe; for `-`, maps the file
    /// standard input is redirected from (`< f`, read from its start), or reads all of
    /// standard input; refuses a directory or a device.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_as(path, None, u64::MAX)
    }

    /// [`Input::open`] for an input that cannot usefully be longer than `max_len` bytes (a
    /// block's bytes): of a pipe or standard input, at most one byte more is read, for the
    /// caller to refuse it by its length as it refuses a file that long. A FIFO fed from
    /// `/dev/zero` was read until memory ran out.
    pub fn open_at_most(path: &Path, max_len: u64) -> Result<Self> {
        Self::open_as(path, None, max_len)
    }

    /// [`Input::open`] for an H4MK container: of a pipe or standard input that does not start
    /// with the magic, only the header's 16 bytes are read, not all of it (its end may never
    /// come: `h4mk info - < /dev/zero`), and the reader refuses them as it refuses any file
    /// with a wrong magic.
    pub fn open_h4mk(path: &Path) -> Result<Self> {
        Self::open_as(path, Some(h4mk_format::MAGIC), u64::MAX)
    }

    fn open_as(path: &Path, magic: Option<[u8; 4]>, max_len: u64) -> Result<Self> {
        let bytes = if is_stdin(path) {
            match stdin_file().filter(at_start) {
                // Mapped from its start, as any file: a 1 GiB `< f` is not read into memory.
                Some(file) if file.metadata().is_ok_and(|m| m.len() > 0) => {
                    Bytes::Mapped(map(&file).context("mapping the file standard input reads")?)
                }
                _ => Bytes::Owned(read_stream(std::io::stdin().lock(), magic, max_len, path)?),
            }
        } else {
            let (mut file, meta) = open_file(path)?;
            if is_pipe(&meta) {
                // `<(command)`, a piped `/dev/stdin`: read it whole, as standard input.
                Bytes::Owned(read_stream(&mut file, magic, max_len, path)?)
            } else if meta.len() == 0 {
                // Mapping an empty file fails on some systems; there is nothing to map.
                Bytes::Owned(Vec::new())
            } else {
                Bytes::Mapped(map(&file).with_context(|| format!("mapping {}", path.display()))?)
            }
        };
        if let Bytes::Mapped(m) = &bytes {
            note_mapped(m, &display_name(path));
        }
        Ok(Input {
            path: path.to_owned(),
            bytes,
        })
    }

    /// The path as given (`-` for standard input).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name for messages: never an absolute path.
    pub fn name(&self) -> String {
        display_name(&self.path)
    }
}

impl Deref for Input {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// Opens the file at `path` (or standard input for `-`) to be read once from start to end, a
/// buffer at a time, whatever its size: for inputs read as a stream, not held. Also returns
/// how many bytes there are to read when that is known: a regular file's length, or for
/// standard input redirected from one (`< f`), what is left of it (`None` for a pipe).
pub fn open_sequential(path: &Path) -> Result<(Box<dyn Read>, Option<u64>)> {
    if is_stdin(path) {
        let left = stdin_file().and_then(|mut file| {
            let len = file.metadata().ok()?.len();
            len.checked_sub(file.stream_position().ok()?)
        });
        return Ok((Box::new(std::io::stdin().lock()), left));
    }
    let (file, meta) = open_file(path)?;
    let len = meta.is_file().then_some(meta.len());
    Ok((Box::new(BufReader::with_capacity(1 << 16, file)), len))
}

/// Whether `file`'s position is its start: what a shell's `< f` gives, and what mapping the
/// whole file reads from.
fn at_start(mut file: &File) -> bool {
    matches!(file.stream_position(), Ok(0))
}

/// Opens `path`, refusing a directory or a device.
fn open_file(path: &Path) -> Result<(File, std::fs::Metadata)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?;
    if meta.is_dir() {
        bail!("{}: is a directory, not a file", path.display());
    }
    if !meta.is_file() && !is_pipe(&meta) {
        // A device could stream forever (`/dev/zero`).
        bail!("{}: is a device, not a file or a pipe", path.display());
    }
    Ok((file, meta))
}

/// Reads the stream at `path` to its end or to one byte past `max_len`, or only its first 16
/// bytes when its first four are not `magic`.
fn read_stream(
    mut reader: impl Read,
    magic: Option<[u8; 4]>,
    max_len: u64,
    path: &Path,
) -> Result<Vec<u8>> {
    let reading = || {
        if is_stdin(path) {
            "reading standard input".to_owned()
        } else {
            format!("reading {}", path.display())
        }
    };
    let mut buf = Vec::new();
    if let Some(magic) = magic {
        (&mut reader)
            .take(4)
            .read_to_end(&mut buf)
            .with_context(reading)?;
        if buf.len() == 4 && buf != magic {
            // The file header's length, so the reader says what every reader says of a file
            // with a wrong magic (`verify --json` in its report), having read no further.
            let rest = (h4mk_format::HEADER_LEN - 4) as u64;
            (&mut reader)
                .take(rest)
                .read_to_end(&mut buf)
                .with_context(reading)?;
            return Ok(buf);
        }
    }
    let left = max_len.saturating_add(1).saturating_sub(buf.len() as u64);
    reader
        .take(left)
        .read_to_end(&mut buf)
        .with_context(reading)?;
    Ok(buf)
}

/// Whether `meta` is a FIFO (a pipe), which cannot be mapped but can be read.
#[cfg(unix)]
fn is_pipe(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_pipe(_: &std::fs::Metadata) -> bool {
    false
}

/// Names for messages about several files: each file's name ([`display_name`]), or, for a file
/// whose name another shares, what `shared` makes of its place, its path and that name
/// (`remux`: `song.h4mk (input 1)`; `verify`: the path as given).
pub(crate) fn distinct_names<'p>(
    paths: impl IntoIterator<Item = &'p Path>,
    shared: impl Fn(usize, &Path, &str) -> String,
) -> Vec<String> {
    let paths: Vec<&Path> = paths.into_iter().collect();
    let names: Vec<String> = paths.iter().map(|p| display_name(p)).collect();
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for name in &names {
        *count.entry(name).or_default() += 1;
    }
    paths
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (path, name))| {
            if count.get(name.as_str()) > Some(&1) {
                shared(i, path, name)
            } else {
                name.clone()
            }
        })
        .collect()
}

/// A path's file name, for messages and reports.
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Maps a file read-only.
///
/// SAFETY: a mapping is undefined behaviour in Rust's model if another process truncates or
/// rewrites the file while it is mapped. h4mk maps only files it was asked to read, never writes
/// to a file it has mapped (outputs go to a new temporary file renamed into place), and every
/// read of the mapping goes through the same bounds-checked parsers as any byte slice. A file
/// truncated under us raises SIGBUS on the next read past its new end, as with every tool that
/// maps its input (ripgrep, the `object` crate's users); that is the accepted trade for opening
/// a 1 GiB file in microseconds, and [`clean_up_on_sigbus`] makes it end as any failed run.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: see the function documentation.
    unsafe { memmap2::Mmap::map(file) }
}

/// What the SIGBUS handler says of a fault at an address no mapping holds: the one cause
/// h4mk's reads can give it.
const CUT_SHORT_WHILE_READ: &[u8] = b"h4mk: error: an input file was cut short by another \
program while h4mk read it (SIGBUS); any output file it was writing is removed\n";

/// A mapped input, for the SIGBUS handler: where its bytes lie, and the message naming it,
/// made when it was mapped so that the handler writes it without allocating.
struct Mapped {
    start: usize,
    len: usize,
    name: String,
    message: Vec<u8>,
}

impl Mapped {
    fn holds(&self, addr: usize) -> bool {
        addr.checked_sub(self.start).is_some_and(|at| at < self.len)
    }
}

/// The inputs mapped so far, newest last. A mapping that is gone stays listed: its addresses
/// may be reused by a later one, which the handler looks up first.
static MAPPED: Mutex<Vec<Mapped>> = Mutex::new(Vec::new());

fn note_mapped(bytes: &[u8], name: &str) {
    let name = crate::one_line(name);
    let message = format!(
        "h4mk: error: {name}: cut short by another program while h4mk read it (SIGBUS); any \
         output file it was writing is removed\n"
    )
    .into_bytes();
    let mut mapped = MAPPED.lock().unwrap_or_else(PoisonError::into_inner);
    mapped.push(Mapped {
        start: bytes.as_ptr() as usize,
        len: bytes.len(),
        name,
        message,
    });
}

/// The mapped inputs' names, for an error that only says a mapping was cut short (`EFAULT`
/// from a write of its bytes, which says not where).
pub(crate) fn mapped_names() -> String {
    let mapped = MAPPED.lock().unwrap_or_else(PoisonError::into_inner);
    let names: Vec<&str> = mapped.iter().map(|m| m.name.as_str()).collect();
    names.join(", ")
}

/// What the SIGBUS handler writes for a fault at `addr`: the message naming the input mapped
/// there, newest mapping first, or [`CUT_SHORT_WHILE_READ`].
fn sigbus_message(mapped: &[Mapped], addr: usize) -> &[u8] {
    mapped
        .iter()
        .rev()
        .find(|m| m.holds(addr))
        .map_or(CUT_SHORT_WHILE_READ, |m| &m.message[..])
}

/// Makes SIGBUS, which a mapped input cut short by another program raises on the next read
/// past its new end, end the run as a failed one does: a message, every unfinished output
/// removed, exit status 1. Before, the process died with no message and left its temporary
/// output behind (553 MB of it in a reviewer's run).
///
/// A SIGBUS sent by a program (`kill -BUS`) rather than raised by a read ends the run as an
/// interruption does: its outputs removed, no message, exit status 128 + 7.
///
/// SAFETY: the handler runs on the thread the signal hit, in signal context, and must not
/// return (a read would fault again; the handler chained before it, std's stack-overflow
/// check, has already reset the signal to its default for a fault that is not a guard page).
/// A fault comes from a read of the mapping, in a parser or a copy of block bytes: never with
/// the allocator's lock, the output registry's or `MAPPED`'s held (`MAPPED` is held only while
/// an input is noted, and is only tried here: a compare-and-swap). The handler looks up the
/// input mapped at the address that faulted (`si_addr`) and writes the message made for it
/// when it was mapped, or a fixed one, with `write(2)` (std's standard error takes a lock and
/// a `RefCell` the thread may hold, when the signal was sent by a program), removes the
/// registered paths (`remove_file` makes a C string on the stack for a path shorter than 384
/// bytes; a longer one allocates, which a fault never interrupts), waits for the registry when
/// an interrupt's thread is sweeping it (that thread ends the process), and ends the process
/// with `_exit`.
#[allow(unsafe_code)]
pub fn clean_up_on_sigbus() {
    let handler = |info: &libc::siginfo_t| {
        // A code above 0 comes from the kernel (BUS_ADRERR and its kin); 0 and below from
        // kill(2), sigqueue(3) and their kin.
        if info.si_code > 0 {
            // SAFETY: a fault's code (above 0) makes `si_addr` the field the kernel filled:
            // the address whose read faulted.
            let addr = unsafe { info.si_addr() } as usize;
            // Tried, not waited for: it is held only while an input is being noted.
            let mapped = MAPPED.try_lock().ok();
            let message = mapped
                .as_deref()
                .map_or(CUT_SHORT_WHILE_READ, |m| sigbus_message(m, addr));
            // SAFETY: write(2) is async-signal-safe, and the buffer outlives the call.
            let _ =
                unsafe { libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len()) };
            crate::output::remove_unfinished_now();
            signal_hook::low_level::exit(1);
        }
        crate::output::remove_unfinished_now();
        signal_hook::low_level::exit(128 + libc::SIGBUS);
    };
    // SAFETY: see the function documentation. Registering fails only for a signal the
    // platform forbids, which SIGBUS is not; then the default action (ending the process)
    // stays.
    let _ = unsafe { signal_hook_registry::register_sigaction(libc::SIGBUS, handler) };
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::Path;

    use super::read_stream;

    /// A stream with no end (a FIFO fed from `/dev/zero`, named as a manifest's block file) is
    /// read to one byte past what its caller can use, for the caller to refuse by its length:
    /// it was read until memory ran out (an adversarial review).
    #[test]
    fn a_stream_is_read_to_one_byte_past_its_cap() {
        let endless = std::io::repeat(7);
        let read = read_stream(endless, None, 1000, Path::new("fifo")).unwrap();
        assert_eq!(read.len(), 1001);
        let short = read_stream(&[1u8, 2, 3][..], None, 1000, Path::new("f")).unwrap();
        assert_eq!(short, [1, 2, 3]);
        // A container's magic is read first, and counts.
        let h4mk = b"H4MK".chain(std::io::repeat(0));
        let read = read_stream(h4mk, Some(h4mk_format::MAGIC), 10, Path::new("-")).unwrap();
        assert_eq!(read.len(), 11);
    }
}
