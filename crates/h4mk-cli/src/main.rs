//! The `h4mk` binary: a thin shell over [`h4mk_cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    h4mk_cli::run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock())
}
