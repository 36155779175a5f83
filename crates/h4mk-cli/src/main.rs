//! The `h4mk` binary: a thin shell over [`h4mk_cli::run`].

use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Standard output is line-buffered: without a buffer, listing a million blocks would make a
    // million write calls.
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let stderr = std::io::stderr();
    let code = h4mk_cli::run(std::env::args_os(), &mut out, &mut stderr.lock());
    match out.flush() {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        // The command failed, and said why: if that was the output, it said so already.
        Err(_) if code != ExitCode::SUCCESS => code,
        Err(e) => {
            let _ = writeln!(stderr.lock(), "h4mk: error: writing standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
