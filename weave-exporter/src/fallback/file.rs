//! The fallback file itself: [`FallbackFile`], append-only, created with permissions
//! `0o600` on unix (it holds inputs and outputs) and rotated like Python's
//! `RotatingFileHandler`: when it would grow past its size limit it becomes `<path>.1`
//! (`.1` becomes `.2`, and so on), keeping [`KEPT_ROTATED_FILES`] old files.
//!
//! A rotation past the kept files discards the oldest one: the file counts the items each
//! of its files holds (as appended, by [`Origin`]), so the items discarded are known
//! exactly without reading the file ([`FallbackFile::take_discarded`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends at least this long skip the write buffer.
const DIRECT_WRITE_BYTES: usize = 16 * 1024;

/// How many rotated files (`<path>.1` .. `<path>.3`) are kept, as in Weave.
pub const KEPT_ROTATED_FILES: u32 = 3;

/// The path of the `n`th rotated file: `<path>.<n>`.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Where the items of appended lines come from: the exporter reports the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Items the exporter dropped (a full queue, a shutdown).
    Dropped,
    /// Items the sink failed to write.
    Failed,
}

/// A number of items, by [`Origin`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Items the exporter dropped.
    pub dropped: u64,
    /// Items the sink failed to write.
    pub failed: u64,
}

impl Tally {
    /// `n` items of `origin`.
    pub fn of(origin: Origin, n: u64) -> Tally {
        match origin {
            Origin::Dropped => Tally { dropped: n, failed: 0 },
            Origin::Failed => Tally { dropped: 0, failed: n },
        }
    }

    /// All the items, whatever their origin.
    pub fn total(self) -> u64 {
        self.dropped + self.failed
    }

    fn add(&mut self, other: Tally) {
        self.dropped += other.dropped;
        self.failed += other.failed;
    }
}

/// Slots of [`FallbackFile::held`]: the current file, then the rotated ones.
const SLOTS: usize = KEPT_ROTATED_FILES as usize + 1;

/// An append-only, rotated JSON-lines file, opened on the first write.
#[derive(Debug)]
pub struct FallbackFile {
    path: PathBuf,
    max_bytes: u64,
    writer: Option<BufWriter<File>>,
    size: u64,
    /// The items this value appended that each file holds: `held[0]` the current file,
    /// `held[n]` `<path>.n`. (Lines another process or an earlier run wrote are not ours
    /// to count.)
    held: [Tally; SLOTS],
    /// Items this value appended that a rotation discarded, not yet taken.
    discarded: Tally,
}

impl FallbackFile {
    /// A fallback file at `path`, rotated when it would grow past `max_bytes`. Nothing is
    /// created until the first line is appended.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64) -> FallbackFile {
        FallbackFile {
            path: path.into(),
            max_bytes,
            writer: None,
            size: 0,
            held: [Tally::default(); SLOTS],
            discarded: Tally::default(),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends complete lines (each ending in `\n`), which hold `items`: one line per
    /// item, so that a rotation that discards them later counts them
    /// ([`FallbackFile::take_discarded`]). They are buffered: call [`FallbackFile::flush`]
    /// to push them to the file. On an error, none of these lines is counted as held.
    ///
    /// ```
    /// use weave_exporter::fallback::{FallbackFile, Origin, Tally};
    /// let dir = tempfile::tempdir()?;
    /// // Room for one line per file: each append rotates.
    /// let mut file = FallbackFile::new(dir.path().join("dropped.jsonl"), 4);
    /// for _ in 0..6 {
    ///     file.append(b"{}\n", Tally::of(Origin::Dropped, 1))?;
    /// }
    /// // The current file and three rotated ones hold one line each: two were discarded.
    /// assert_eq!(file.take_discarded(), Tally { dropped: 2, failed: 0 });
    /// assert_eq!(file.take_discarded(), Tally::default());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn append(&mut self, lines: &[u8], items: Tally) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        if self.writer.is_some() && self.size > 0 && self.size + lines.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let file = open_private_append(&self.path)?;
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if self.size > 0 && self.size + lines.len() as u64 > self.max_bytes {
                    drop(file);
                    self.rotate()?;
                    return self.append(lines, items);
                }
                self.writer.insert(BufWriter::with_capacity(64 * 1024, file))
            }
        };
        if lines.len() >= DIRECT_WRITE_BYTES {
            // A whole batch: one `write`, without a copy into the buffer.
            writer.flush()?;
            writer.get_mut().write_all(lines)?;
        } else {
            writer.write_all(lines)?;
        }
        self.size += lines.len() as u64;
        self.held[0].add(items);
        Ok(())
    }

    /// The items appended by this value that rotations discarded since the last call
    /// (with the oldest rotated file, [`KEPT_ROTATED_FILES`] rotations after they were
    /// appended).
    pub fn take_discarded(&mut self) -> Tally {
        std::mem::take(&mut self.discarded)
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush()?;
        }
        for n in (0..KEPT_ROTATED_FILES as usize).rev() {
            let from = if n == 0 { self.path.clone() } else { rotated_path(&self.path, n as u32) };
            if rename_if_exists(&from, &rotated_path(&self.path, n as u32 + 1))? {
                // `<path>.n+1` is replaced: what it held is gone.
                let moved = std::mem::take(&mut self.held[n]);
                let replaced = std::mem::replace(&mut self.held[n + 1], moved);
                self.discarded.add(replaced);
            }
        }
        self.size = 0;
        Ok(())
    }
}

impl Drop for FallbackFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Renames `from` to `to` (replacing it); false when `from` does not exist.
fn rename_if_exists(from: &Path, to: &Path) -> io::Result<bool> {
    match fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens `path` for appending, creating it (and its parent directories) with
/// permissions `0o600` on unix.
pub(crate) fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
