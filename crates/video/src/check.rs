//! Is a recording's sample file there and as long as its index says, and
//! does its frame index agree with its row? Used per recording by playback
//! (a damaged recording is skipped and shows as a gap) and over the whole
//! store by `citywatch check`. Reads only; repairs are `recovery`'s job.

use std::fmt;

use citywatch_model::recordings::RecordingRow;
use citywatch_model::RepoError;

use crate::recording_repo::RecordingRepo;

use crate::frame_index::{self, IndexedFrame};
use crate::recorder::Stream;
use crate::recording_source::RecordingSource;
use crate::sample_bytes::SampleBytes;
use crate::sample_dir::SampleDir;

/// What is wrong with one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    MissingFile,
    /// The file is shorter than the index says (truncated).
    ShortFile {
        have: u64,
        want: u64,
    },
    Unreadable(String),
    /// The frame index does not decode.
    CorruptIndex,
    /// The frame index decodes but disagrees with the row.
    IndexMismatch {
        what: &'static str,
        index: i64,
        row: i64,
    },
    /// The row names codec parameters that are not stored.
    MissingParams(i64),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingFile => write!(f, "the sample file is missing"),
            Problem::ShortFile { have, want } => write!(f, "the sample file has {have} bytes but the index needs {want} (truncated)"),
            Problem::Unreadable(e) => write!(f, "the sample file cannot be read: {e}"),
            Problem::CorruptIndex => write!(f, "the frame index is corrupt"),
            Problem::IndexMismatch { what, index, row } => write!(f, "the frame index sums to {index} {what} but the row says {row}"),
            Problem::MissingParams(id) => write!(f, "the codec parameters {id} it names are not stored"),
        }
    }
}

/// A damaged recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub recording_id: i64,
    pub camera_id: String,
    pub stream: Stream,
    pub start_90k: i64,
    pub end_90k: i64,
    pub file: String,
    pub problem: Problem,
}

impl Damaged {
    pub fn new(row: &RecordingRow, problem: Problem) -> Damaged {
        Damaged {
            recording_id: row.id,
            camera_id: row.camera_id.clone(),
            stream: row.stream,
            start_90k: row.start_90k,
            end_90k: row.start_90k + row.duration_90k,
            file: row.file.clone(),
            problem,
        }
    }
}

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "recording {} ({} {}, file {}): {}", self.recording_id, self.camera_id, self.stream, self.file, self.problem)
    }
}

/// The file exists and holds at least the row's bytes (more is a GOP whose
/// row never committed; start-up recovery cuts it off).
pub fn check_file(row: &RecordingRow, dir: &SampleDir) -> Result<(), Problem> {
    file_length(row, std::fs::metadata(dir.path(&row.file)).map(|m| m.len()))
}

/// [`check_file`] for a recording that playback reads through a source.
pub fn check_source_file(row: &RecordingRow, source: &dyn RecordingSource, bytes: &dyn SampleBytes) -> Result<(), Problem> {
    file_length(row, bytes.len(&source.sample_file(&row.file)))
}

/// Whether a sample file of `len` bytes can hold the row's.
fn file_length(row: &RecordingRow, len: std::io::Result<u64>) -> Result<(), Problem> {
    match len {
        Ok(len) if len < row.bytes.max(0) as u64 => Err(Problem::ShortFile { have: len, want: row.bytes as u64 }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Problem::MissingFile),
        Err(e) => Err(Problem::Unreadable(e.to_string())),
    }
}

/// `check_file`, then the frame index against the row; the decoded index if all is well.
pub fn check_recording(row: &RecordingRow, dir: &SampleDir) -> Result<Vec<IndexedFrame>, Problem> {
    check_file(row, dir)?;
    check_index(row)
}

/// [`check_recording`] for a recording that playback reads through a source.
pub fn check_source_recording(row: &RecordingRow, source: &dyn RecordingSource, bytes: &dyn SampleBytes) -> Result<Vec<IndexedFrame>, Problem> {
    check_source_file(row, source, bytes)?;
    check_index(row)
}

/// The frame index against the row; the decoded index if they agree.
fn check_index(row: &RecordingRow) -> Result<Vec<IndexedFrame>, Problem> {
    let frames = frame_index::decode(&row.frame_index).ok_or(Problem::CorruptIndex)?;
    let sums = [
        ("frames", frames.len() as i64, row.frames),
        ("bytes", frames.iter().map(|f| i64::from(f.size)).sum(), row.bytes),
        ("90 kHz ticks", frames.iter().map(|f| i64::from(f.duration_90k)).sum(), row.duration_90k),
    ];
    for (what, index, want) in sums {
        if index != want {
            return Err(Problem::IndexMismatch { what, index, row: want });
        }
    }
    Ok(frames)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub recordings: u64,
    pub bytes: u64,
    pub damaged: Vec<Damaged>,
    /// Files no row names (a crash before a recording's first commit):
    /// harmless, removed at the next start.
    pub orphan_files: Vec<String>,
    /// Deletions queued but not finished: finished by the next retention run or start.
    pub pending_deletions: usize,
}

/// Checks every recording of the store.
pub fn check_all(store: &dyn RecordingRepo, dir: &SampleDir) -> Result<CheckReport, RepoError> {
    let mut report = CheckReport::default();
    let mut indexed = std::collections::HashSet::new();
    let mut params_ok = std::collections::HashMap::new();
    let mut after = 0;
    loop {
        let page = store.recordings_after(after, 200)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in page {
            report.recordings += 1;
            report.bytes += row.bytes.max(0) as u64;
            indexed.insert(row.file.clone());
            let params = match params_ok.get(&row.params_id) {
                Some(&ok) => ok,
                None => {
                    let ok = store.video_params(row.params_id)?.is_some();
                    params_ok.insert(row.params_id, ok);
                    ok
                }
            };
            let problem = match check_recording(&row, dir) {
                Err(p) => Some(p),
                Ok(_) if !params => Some(Problem::MissingParams(row.params_id)),
                Ok(_) => None,
            };
            if let Some(p) = problem {
                report.damaged.push(Damaged::new(&row, p));
            }
        }
    }
    let garbage = store.garbage_files()?;
    report.pending_deletions = garbage.len();
    if let Ok(files) = dir.list() {
        report.orphan_files = files.into_iter().filter(|f| !indexed.contains(f) && !garbage.contains(f)).collect();
        report.orphan_files.sort();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_index::append;

    fn row(file: &str, bytes: i64, frames: i64, duration_90k: i64, index: Vec<u8>) -> RecordingRow {
        RecordingRow {
            id: 1,
            camera_id: "c".into(),
            stream: Stream::Main,
            run_id: 1,
            start_90k: 0,
            duration_90k,
            frames,
            bytes,
            params_id: 1,
            file: file.into(),
            frame_index: index,
        }
    }

    #[test]
    fn each_kind_of_damage_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SampleDir::open(tmp.path()).unwrap();
        std::fs::write(dir.path("f"), [0u8; 20]).unwrap();
        let mut index = Vec::new();
        append(&mut index, IndexedFrame { size: 12, duration_90k: 3000, is_key: true });
        append(&mut index, IndexedFrame { size: 8, duration_90k: 3000, is_key: false });
        assert_eq!(check_recording(&row("f", 20, 2, 6000, index.clone()), &dir).unwrap().len(), 2);
        assert_eq!(check_recording(&row("gone", 20, 2, 6000, index.clone()), &dir), Err(Problem::MissingFile));
        assert_eq!(check_recording(&row("f", 21, 2, 6000, index.clone()), &dir), Err(Problem::ShortFile { have: 20, want: 21 }));
        assert_eq!(check_recording(&row("f", 19, 2, 6000, index.clone()), &dir), Err(Problem::IndexMismatch { what: "bytes", index: 20, row: 19 }));
        assert_eq!(check_recording(&row("f", 20, 3, 6000, index.clone()), &dir), Err(Problem::IndexMismatch { what: "frames", index: 2, row: 3 }));
        assert_eq!(check_recording(&row("f", 20, 2, 5000, index.clone()), &dir), Err(Problem::IndexMismatch { what: "90 kHz ticks", index: 6000, row: 5000 }));
        assert_eq!(check_recording(&row("f", 20, 2, 6000, index[..index.len() - 1].to_vec()), &dir), Err(Problem::CorruptIndex));
        assert!(Problem::ShortFile { have: 1, want: 2 }.to_string().contains("truncated"));
    }
}
