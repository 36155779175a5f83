//! Snapshots of every reporting command over every fixture.

use insta::{assert_snapshot, glob, with_settings};

use crate::{fixtures, h4mk};

/// The fixture folders every reporting command runs over.
const FOLDERS: [&str; 3] = ["reference", "valid", "invalid"];

/// Runs `args` over every fixture in every folder and snapshots stdout, stderr and status, as
/// `NAME@FOLDER__FILE.snap`.
fn snapshot_each(name: &str, args: &[&str]) {
    for folder in FOLDERS {
        snapshot_folder(&format!("{name}@{folder}"), folder, args);
    }
}

fn snapshot_folder(name: &str, folder: &str, args: &[&str]) {
    glob!(fixtures().join(folder), "*.h4mk", |path| {
        let o = h4mk(args, path);
        let text = format!(
            "status: {:?}\n--- stdout\n{}--- stderr\n{}",
            o.code, o.stdout, o.stderr
        );
        with_settings!({ prepend_module_to_snapshot => false, omit_expression => true}, {
            assert_snapshot!(name, text);
        });
    });
}

#[test]
fn verify() {
    snapshot_each("verify", &["verify", "--lenient", "{}"]);
    snapshot_each("verify_json", &["verify", "--lenient", "--json", "{}"]);
}
