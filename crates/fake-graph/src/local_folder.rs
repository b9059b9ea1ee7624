//! A folder on disk standing in for a folder of the fake drive, for demos:
//! a file dropped into it appears in the fake drive (and Graph's change
//! notification follows), a change or a deletion follows it there, and a file
//! that arrives in the fake folder from elsewhere (Folio's "Send to
//! OneDrive") is written out to it. Only the folder's top level is kept
//! alike; names starting with `.` are left alone.

use std::{
    collections::HashMap,
    io,
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::{FakeGraph, ItemInfo};

/// Files larger than this stay on disk only (the fake keeps content in memory).
pub(crate) const MAX_FILE: u64 = 256 << 20;

/// What a file looked like on disk.
type Stamp = (u64, SystemTime);

#[derive(Debug)]
struct Known {
    item: String,
    on_disk: Stamp,
    ctag: String,
}

/// Keeps one directory and one fake folder alike; call [`Self::sync`] on a
/// timer.
#[derive(Debug)]
pub struct LocalFolder {
    dir: PathBuf,
    drive: String,
    folder: String,
    known: HashMap<String, Known>,
}

fn stamp(path: &Path) -> io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.len(), meta.modified()?))
}

/// The directory's plain files, by name.
fn on_disk(dir: &Path) -> io::Result<HashMap<String, Stamp>> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let meta = entry.metadata()?;
        files.insert(name, (meta.len(), meta.modified()?));
    }
    Ok(files)
}

impl LocalFolder {
    /// `dir` is created when missing.
    pub fn new(dir: PathBuf, drive: &str, folder: &str) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            drive: drive.to_owned(),
            folder: folder.to_owned(),
            known: HashMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One pass: disk → drive first (the person's drop wins), then drive → disk.
    pub fn sync(&mut self, graph: &FakeGraph) -> io::Result<()> {
        let disk = on_disk(&self.dir)?;
        let mut remote = self.remote(graph);

        for (name, seen) in &disk {
            let unchanged = self.known.get(name).is_some_and(|k| k.on_disk == *seen);
            if unchanged || seen.0 > MAX_FILE {
                continue;
            }
            let content = std::fs::read(self.dir.join(name))?;
            let item = match remote.get(name) {
                Some(item) => {
                    graph.set_content(&self.drive, &item.id, content);
                    item.id.clone()
                }
                None => graph.add_file(&self.drive, &self.folder, name, content),
            };
            let ctag = graph.item(&self.drive, &item).map(|i| i.ctag);
            self.known.insert(
                name.clone(),
                Known {
                    item,
                    on_disk: *seen,
                    ctag: ctag.unwrap_or_default(),
                },
            );
        }
        let removed: Vec<String> = self
            .known
            .keys()
            .filter(|name| !disk.contains_key(*name))
            .cloned()
            .collect();
        for name in removed {
            if let Some(known) = self.known.remove(&name)
                && graph.item(&self.drive, &known.item).is_some()
            {
                graph.delete(&self.drive, &known.item);
            }
        }

        remote = self.remote(graph);
        for (name, item) in remote {
            let current = self.known.get(&name).is_some_and(|k| k.ctag == item.ctag);
            if current {
                continue;
            }
            let Some(content) = graph.content(&self.drive, &item.id) else {
                continue;
            };
            let path = self.dir.join(&name);
            std::fs::write(&path, &content)?;
            self.known.insert(
                name,
                Known {
                    item: item.id,
                    on_disk: stamp(&path)?,
                    ctag: item.ctag,
                },
            );
        }
        Ok(())
    }

    /// The fake folder's files, by name.
    fn remote(&self, graph: &FakeGraph) -> HashMap<String, ItemInfo> {
        graph
            .children(&self.drive, &self.folder)
            .into_iter()
            .filter(|i| !i.folder)
            .map(|i| (i.name.clone(), i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_and_drive_stay_alike() {
        let graph = FakeGraph::start().await.unwrap();
        let root = graph.add_drive("t", "d");
        let folder = graph.add_folder("d", &root, "Clients");
        let dir = tempfile_dir();
        let mut local = LocalFolder::new(dir.clone(), "d", &folder).unwrap();

        std::fs::write(dir.join("a.txt"), b"one").unwrap();
        std::fs::write(dir.join(".hidden"), b"skip").unwrap();
        local.sync(&graph).unwrap();
        let children = graph.children("d", &folder);
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].name, "a.txt");
        let a = children[0].id.clone();
        assert_eq!(graph.content("d", &a).unwrap().as_ref(), b"one");
        let ctag = children[0].ctag.clone();

        // Nothing changed: nothing happens.
        local.sync(&graph).unwrap();
        assert_eq!(graph.item("d", &a).unwrap().ctag, ctag);

        // A change on disk is new content (longer, so the stamp differs).
        std::fs::write(dir.join("a.txt"), b"one two").unwrap();
        local.sync(&graph).unwrap();
        assert_eq!(graph.content("d", &a).unwrap().as_ref(), b"one two");

        // A file arriving in the drive is written out.
        let b = graph.add_file("d", &folder, "b.txt", b"from Folio".to_vec());
        local.sync(&graph).unwrap();
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"from Folio");
        // …and overwritten when it changes there.
        graph.set_content("d", &b, b"from Folio, again".to_vec());
        local.sync(&graph).unwrap();
        assert_eq!(
            std::fs::read(dir.join("b.txt")).unwrap(),
            b"from Folio, again"
        );

        // Deleted on disk: deleted in the drive.
        std::fs::remove_file(dir.join("a.txt")).unwrap();
        local.sync(&graph).unwrap();
        assert!(graph.item("d", &a).is_none());
        assert_eq!(graph.children("d", &folder).len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fake-graph-local-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
