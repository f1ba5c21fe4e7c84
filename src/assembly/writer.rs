//! Writes an output directory so that a reader sees either the old one or the new one, never a mix.
//!
//! Files go to a temporary directory beside the target. Only when all are written does the new one
//! take the old one's place, and the old one is removed. On Linux the two directories trade places in
//! one `renameat2(RENAME_EXCHANGE)`, so the target never stops existing; elsewhere, or on a file system
//! without it, the old directory is moved aside and the new one renamed into place. A failure before
//! the swap leaves the old directory untouched; a failure during the swap moves the old one back.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::MANIFEST_FILE;

/// Why an output directory could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The target exists and is not an earlier output of cfn-synth, so replacing it could lose data.
    #[error(
        "refusing to replace {}: it exists and is not a cfn-synth output directory (no {MANIFEST_FILE}); \
         choose another --output",
        path.display()
    )]
    NotAnOutputDirectory {
        /// The target.
        path: PathBuf,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io { action, path, source }
}

/// Writes `files` (relative path, contents) as the directory `target`, replacing an earlier output.
pub fn write_directory(target: &Path, files: &[(String, String)]) -> Result<(), WriteError> {
    let mut staging = Staging::new(target)?;
    for (relative, contents) in files {
        staging.write(relative, contents)?;
    }
    staging.commit()
}

/// An output directory being written: files go to a temporary directory beside the target as they
/// come, so that a caller need not hold them all; [`Staging::commit`] swaps it into place. Dropped
/// without a commit, it removes what it wrote and leaves the target as it was.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    parent: PathBuf,
    replacing: bool,
    directory: tempfile::TempDir,
    created: std::collections::BTreeSet<PathBuf>,
}

impl Staging {
    /// Starts writing the directory `target`, refusing a target that is not an earlier output.
    pub fn new(target: &Path) -> Result<Self, WriteError> {
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_error("create", &parent))?;
        let replacing = match fs::symlink_metadata(target) {
            Ok(metadata) => {
                let is_output = metadata.is_dir()
                    && (target.join(MANIFEST_FILE).is_file()
                        || is_empty_dir(target).map_err(io_error("read", target))?);
                if !is_output {
                    return Err(WriteError::NotAnOutputDirectory { path: target.to_owned() });
                }
                true
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => false,
            Err(error) => return Err(io_error("inspect", target)(error)),
        };
        let directory = tempfile::Builder::new()
            .prefix(".cfn-synth-new-")
            .tempdir_in(&parent)
            .map_err(io_error("create a temporary directory in", &parent))?;
        Ok(Self { target: target.to_owned(), parent, replacing, directory, created: Default::default() })
    }

    /// Writes one file at `relative`, creating its directory once.
    pub fn write(&mut self, relative: &str, contents: &str) -> Result<(), WriteError> {
        let path = self.directory.path().join(relative);
        if let Some(directory) = path.parent() {
            if !self.created.contains(directory) {
                fs::create_dir_all(directory).map_err(io_error("create", directory))?;
                self.created.insert(directory.to_owned());
            }
        }
        fs::write(&path, contents).map_err(io_error("write", &path))
    }

    /// Moves the written directory into place, the earlier output aside and then away.
    pub fn commit(self) -> Result<(), WriteError> {
        let Self { target, parent, replacing, directory: staging, .. } = self;
        let target = target.as_path();
        make_world_readable(staging.path())?;

        if !replacing {
            fs::rename(staging.path(), target).map_err(io_error("move the new output into", target))?;
            let _moved = staging.keep();
            return Ok(());
        }
        if exchange(staging.path(), target) {
            // The staging path now holds the earlier output, which dropping `staging` removes.
            return Ok(());
        }
        swap_by_renames(staging, target, &parent)
    }
}

/// Trades the places of two directories in one step, where the system and file system can.
#[cfg(target_os = "linux")]
fn exchange(staging: &Path, target: &Path) -> bool {
    rustix::fs::renameat_with(rustix::fs::CWD, staging, rustix::fs::CWD, target, rustix::fs::RenameFlags::EXCHANGE)
        .is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_staging: &Path, _target: &Path) -> bool {
    false
}

/// Puts `staging` in the place of the earlier output `target` by two renames: the earlier output into a
/// temporary directory beside it, the new one into place; then removes the earlier one.
fn swap_by_renames(staging: tempfile::TempDir, target: &Path, parent: &Path) -> Result<(), WriteError> {
    let retired = tempfile::Builder::new()
        .prefix(".cfn-synth-old-")
        .tempdir_in(parent)
        .map_err(io_error("create a temporary directory in", parent))?;
    let previous = retired.path().join("previous");
    fs::rename(target, &previous).map_err(io_error("move aside the earlier output", target))?;
    if let Err(error) = fs::rename(staging.path(), target) {
        // Put the earlier output back; if even that fails, say where it is rather than lose it.
        return match fs::rename(&previous, target) {
            Ok(()) => Err(io_error("move the new output into", target)(error)),
            Err(_) => {
                let kept = retired.keep();
                Err(io_error("restore the earlier output, which is kept at", &kept)(error))
            }
        };
    }
    let _moved = staging.keep();
    // `retired` is removed on drop, with the earlier output in it.
    Ok(())
}

fn is_empty_dir(path: &Path) -> io::Result<bool> {
    Ok(fs::read_dir(path)?.next().is_none())
}

/// Temporary directories are created private (0700); an output directory is an ordinary one.
#[cfg(unix)]
fn make_world_readable(path: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io_error("set permissions of", path))
}

#[cfg(not(unix))]
fn make_world_readable(_path: &Path) -> Result<(), WriteError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(manifest: &str) -> Vec<(String, String)> {
        vec![(MANIFEST_FILE.to_owned(), manifest.to_owned()), ("sub/a.txt".to_owned(), "a".to_owned())]
    }

    /// Writes a first output with a stray file in it, has `replace` put a second one (manifest
    /// "second") in its place, and checks that the second replaced it whole.
    fn replaces_an_earlier_output_whole(replace: impl FnOnce(&Path)) {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        write_directory(&target, &files("first")).unwrap();
        fs::write(target.join("stale.json"), "left over").unwrap();
        replace(&target);
        assert_eq!(fs::read_to_string(target.join(MANIFEST_FILE)).unwrap(), "second");
        assert_eq!(fs::read_to_string(target.join("sub/a.txt")).unwrap(), "a");
        assert!(!target.join("stale.json").exists(), "the earlier output is replaced, not merged");
        let leftovers: Vec<_> = fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, ["out"], "no temporary directories remain");
    }

    #[test]
    fn writes_a_new_directory_and_replaces_an_earlier_output_whole() {
        replaces_an_earlier_output_whole(|target| write_directory(target, &files("second")).unwrap());
    }

    /// Where the directories cannot trade places in one step, two renames replace the output the same.
    #[test]
    fn two_renames_replace_an_earlier_output_whole_too() {
        replaces_an_earlier_output_whole(|target| {
            let mut staging = Staging::new(target).unwrap();
            for (relative, contents) in files("second") {
                staging.write(&relative, &contents).unwrap();
            }
            let Staging { directory, parent, .. } = staging;
            swap_by_renames(directory, target, &parent).unwrap();
        });
    }

    #[test]
    fn refuses_to_replace_a_directory_that_is_not_an_output() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("precious.txt"), "keep me").unwrap();
        let err = write_directory(root.path(), &files("x")).unwrap_err();
        assert!(matches!(err, WriteError::NotAnOutputDirectory { .. }), "{err}");
        assert_eq!(fs::read_to_string(root.path().join("precious.txt")).unwrap(), "keep me");

        let file = root.path().join("a-file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(write_directory(&file, &files("x")), Err(WriteError::NotAnOutputDirectory { .. })));
    }

    #[test]
    fn an_empty_directory_may_be_filled() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("empty");
        fs::create_dir(&target).unwrap();
        write_directory(&target, &files("x")).unwrap();
        assert!(target.join(MANIFEST_FILE).is_file());
    }
}
