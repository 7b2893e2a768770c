//! The fallback file itself: [`FallbackFile`], append-only, created with permissions
//! `0o600` on unix (it holds inputs and outputs) and rotated like Python's
//! `RotatingFileHandler`: when it would grow past its size limit it becomes `<path>.1`
//! (`.1` becomes `.2`, and so on), keeping [`KEPT_ROTATED_FILES`] old files.

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

/// An append-only, rotated JSON-lines file, opened on the first write.
#[derive(Debug)]
pub struct FallbackFile {
    path: PathBuf,
    max_bytes: u64,
    writer: Option<BufWriter<File>>,
    size: u64,
}

impl FallbackFile {
    /// A fallback file at `path`, rotated when it would grow past `max_bytes`. Nothing is
    /// created until the first line is appended.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64) -> FallbackFile {
        FallbackFile { path: path.into(), max_bytes, writer: None, size: 0 }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends complete lines (each ending in `\n`). They are buffered: call
    /// [`FallbackFile::flush`] to push them to the file.
    pub fn append(&mut self, lines: &[u8]) -> io::Result<()> {
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
                    return self.append(lines);
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
        Ok(())
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
        for n in (1..KEPT_ROTATED_FILES).rev() {
            rename_if_exists(&rotated_path(&self.path, n), &rotated_path(&self.path, n + 1))?;
        }
        rename_if_exists(&self.path, &rotated_path(&self.path, 1))?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for FallbackFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
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
