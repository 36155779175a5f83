//! The `h4mk` binary: a thin shell over [`h4mk_cli::run`].

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Standard error, remembering whether anything was written to it.
struct Stderr {
    wrote: bool,
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wrote |= !buf.is_empty();
        io::stderr().lock().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().lock().flush()
    }
}

fn main() -> ExitCode {
    // Interrupted (Ctrl-C, SIGTERM, SIGHUP), h4mk removes what it was writing, as it does when
    // a write fails, and ends with the status a shell gives a command that signal ended
    // (128 + its number: 130, 143, 129).
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                h4mk_cli::output::remove_unfinished_and_exit(128 + signal)
            }
        });
    }
    // A mapped input cut short by another program raises SIGBUS on the next read past its new
    // end: the same cleanup, with a message.
    h4mk_cli::input::clean_up_on_sigbus();
    // Standard output is line-buffered: without a buffer, listing a million blocks would make a
    // million write calls.
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    // Standard error, a line at a time: written through, a report sent there with `-o -` took
    // a write call per JSON token (27 s for a 7.5 MB report, a review found).
    let mut err = io::LineWriter::new(Stderr { wrote: false });
    let code = h4mk_cli::run(std::env::args_os(), &mut out, &mut err);
    let _ = err.flush();
    match out.flush() {
        Ok(()) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        // The command said why it failed already (the output, if that was it): once is enough.
        Err(_) if err.get_ref().wrote => code,
        Err(e) => {
            let _ = writeln!(err, "h4mk: error: writing standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
