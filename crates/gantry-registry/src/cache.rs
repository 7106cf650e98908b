//! The metadata cache: what a digest's manifest says, so that it is fetched once ever.
//!
//! A digest names immutable content, so its metadata (build time, annotations, platform, or
//! the platform entries of an index) never changes and can be kept forever. With
//! `cacheByTag`, the cache also remembers which digest a `registry/repo:tag` pointed at,
//! trusting the tag not to move.
//!
//! Two implementations: [`MemoryCache`] (bounded, first in first out) and [`FileCache`] (one
//! JSON file per entry under a directory, written atomically through a temporary file and a
//! rename, with a memory cache in front; a corrupt or foreign file is ignored and rewritten).
//! Cache write failures never fail discovery: the cache is an optimisation.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::manifest::{Algorithm, Platform, digest_of, parse_digest};

/// Whether a digest names an image manifest or an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ManifestKind {
    /// An image manifest (Docker v2 schema 2 or OCI).
    Image,
    /// A manifest list or OCI index.
    Index,
}

/// One image entry of an index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// The image manifest's digest.
    pub digest: String,
    /// Its platform.
    pub platform: Platform,
    /// The descriptor's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What a digest's manifest (and, for an image, its config) says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageMetadata {
    /// Image or index.
    pub kind: ManifestKind,
    /// Build time as written (RFC 3339), images only, by Kargo's precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The manifest's (or index's) annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The image's platform from its config, images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The image entries (attestations and unknown platforms left out), indexes only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<IndexEntry>,
}

/// Where digest metadata and (with `cacheByTag`) tag digests are kept between discoveries.
pub trait MetadataCache: Send + Sync {
    /// The metadata of a digest, if known.
    fn metadata(&self, digest: &str) -> Option<ImageMetadata>;
    /// Remembers the metadata of a digest.
    fn put_metadata(&self, digest: &str, metadata: &ImageMetadata);
    /// The digest a `registry/repo:tag` pointed at, if known.
    fn tag_digest(&self, tag_key: &str) -> Option<String>;
    /// Remembers the digest of a `registry/repo:tag`.
    fn put_tag_digest(&self, tag_key: &str, digest: &str);
}

/// Entries a [`MemoryCache`] keeps by default (Kargo's LRU holds 100 000).
pub const DEFAULT_MEMORY_ENTRIES: usize = 100_000;

#[derive(Debug, Default)]
struct Bounded<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
}

impl<V: Clone> Bounded<V> {
    fn get(&self, key: &str) -> Option<V> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: &str, value: V, max: usize) {
        if self.map.insert(key.to_owned(), value).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.map.len() > max.max(1) {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&oldest);
        }
    }
}

/// An in-memory cache holding at most a fixed number of entries of each kind (the oldest go
/// first).
#[derive(Debug)]
pub struct MemoryCache {
    max_entries: usize,
    metadata: Mutex<Bounded<ImageMetadata>>,
    tags: Mutex<Bounded<String>>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_ENTRIES)
    }
}

impl MemoryCache {
    /// A cache keeping at most `max_entries` digests and as many tags.
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            metadata: Mutex::new(Bounded {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
            tags: Mutex::new(Bounded {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// How many digests are cached.
    pub fn len(&self) -> usize {
        lock(&self.metadata).map.len()
    }

    /// Whether no digest is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MetadataCache for MemoryCache {
    fn metadata(&self, digest: &str) -> Option<ImageMetadata> {
        lock(&self.metadata).get(digest)
    }

    fn put_metadata(&self, digest: &str, metadata: &ImageMetadata) {
        lock(&self.metadata).put(digest, metadata.clone(), self.max_entries);
    }

    fn tag_digest(&self, tag_key: &str) -> Option<String> {
        lock(&self.tags).get(tag_key)
    }

    fn put_tag_digest(&self, tag_key: &str, digest: &str) {
        lock(&self.tags).put(tag_key, digest.to_owned(), self.max_entries);
    }
}

/// Bumped when the file format changes; files of another version are ignored.
const FILE_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestFile {
    format: u32,
    digest: String,
    metadata: ImageMetadata,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagFile {
    format: u32,
    tag: String,
    digest: String,
}

/// A cache in a directory: `digests/sha256-<hex>.json` and `tags/<sha256 of the key>.json`,
/// with a [`MemoryCache`] in front.
#[derive(Debug)]
pub struct FileCache {
    root: PathBuf,
    memory: MemoryCache,
    write_errors: AtomicU64,
    temp_counter: AtomicU64,
}

impl FileCache {
    /// Opens (creating it if needed) a cache directory.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["digests", "tags"] {
            let path = root.join(sub);
            fs_err::create_dir_all(&path).map_err(|source| RegistryError::Cache {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Self {
            root,
            memory: MemoryCache::default(),
            write_errors: AtomicU64::new(0),
            temp_counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many writes failed (disk full, permissions...) since the cache was opened.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    fn digest_path(&self, digest: &str) -> Option<PathBuf> {
        let (algorithm, hex) = parse_digest(digest)?;
        let name = match algorithm {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        };
        Some(self.root.join("digests").join(format!("{name}-{hex}.json")))
    }

    fn tag_path(&self, tag_key: &str) -> PathBuf {
        let hashed = digest_of(Algorithm::Sha256, tag_key.as_bytes());
        let hex = hashed.trim_start_matches("sha256:");
        self.root.join("tags").join(format!("{hex}.json"))
    }

    /// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) {
        let counter = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_extension(format!("{}.{counter}.tmp", std::process::id()));
        let result = fs_err::write(&temp, bytes).and_then(|()| fs_err::rename(&temp, path));
        if result.is_err() {
            let _ = fs_err::remove_file(&temp);
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl MetadataCache for FileCache {
    fn metadata(&self, digest: &str) -> Option<ImageMetadata> {
        if let Some(found) = self.memory.metadata(digest) {
            return Some(found);
        }
        let path = self.digest_path(digest)?;
        let bytes = fs_err::read(&path).ok()?;
        let file: DigestFile = serde_json::from_slice(&bytes).ok()?;
        if file.format != FILE_FORMAT || file.digest != digest {
            return None;
        }
        self.memory.put_metadata(digest, &file.metadata);
        Some(file.metadata)
    }

    fn put_metadata(&self, digest: &str, metadata: &ImageMetadata) {
        self.memory.put_metadata(digest, metadata);
        let Some(path) = self.digest_path(digest) else {
            return;
        };
        let file = DigestFile {
            format: FILE_FORMAT,
            digest: digest.to_owned(),
            metadata: metadata.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&file) {
            self.write_atomically(&path, &bytes);
        }
    }

    fn tag_digest(&self, tag_key: &str) -> Option<String> {
        if let Some(found) = self.memory.tag_digest(tag_key) {
            return Some(found);
        }
        let bytes = fs_err::read(self.tag_path(tag_key)).ok()?;
        let file: TagFile = serde_json::from_slice(&bytes).ok()?;
        if file.format != FILE_FORMAT || file.tag != tag_key || parse_digest(&file.digest).is_none()
        {
            return None;
        }
        self.memory.put_tag_digest(tag_key, &file.digest);
        Some(file.digest)
    }

    fn put_tag_digest(&self, tag_key: &str, digest: &str) {
        self.memory.put_tag_digest(tag_key, digest);
        let file = TagFile {
            format: FILE_FORMAT,
            tag: tag_key.to_owned(),
            digest: digest.to_owned(),
        };
        if let Ok(bytes) = serde_json::to_vec(&file) {
            self.write_atomically(&self.tag_path(tag_key), &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn metadata() -> ImageMetadata {
        ImageMetadata {
            kind: ManifestKind::Image,
            created: Some("2024-01-01T00:00:00Z".to_owned()),
            annotations: [("a".to_owned(), "b".to_owned())].into(),
            platform: Some(Platform::parse("linux/amd64").unwrap()),
            manifests: Vec::new(),
        }
    }

    #[test]
    fn memory_cache_drops_the_oldest_entries_beyond_its_bound() {
        let cache = MemoryCache::new(2);
        for key in ["a", "b", "c"] {
            cache.put_metadata(key, &metadata());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.metadata("a").is_none());
        assert!(cache.metadata("c").is_some());
    }

    #[test]
    fn file_cache_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let cache = FileCache::open(dir.path()).unwrap();
            cache.put_metadata(DIGEST, &metadata());
            cache.put_tag_digest("r.example/app:v1", DIGEST);
            assert_eq!(cache.write_errors(), 0);
        }
        let cache = FileCache::open(dir.path()).unwrap();
        assert_eq!(cache.metadata(DIGEST), Some(metadata()));
        assert_eq!(
            cache.tag_digest("r.example/app:v1").as_deref(),
            Some(DIGEST)
        );
        assert_eq!(cache.tag_digest("r.example/app:v2"), None);
        // no temporary files are left behind
        let leftovers: Vec<_> = fs_err::read_dir(dir.path().join("digests"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| {
                std::path::Path::new(name)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tmp"))
            })
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn corrupt_files_are_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::open(dir.path()).unwrap();
        let path = cache.digest_path(DIGEST).unwrap();
        fs_err::write(&path, b"{ this is not json").unwrap();
        assert_eq!(cache.metadata(DIGEST), None);
        cache.put_metadata(DIGEST, &metadata());
        let reopened = FileCache::open(dir.path()).unwrap();
        assert_eq!(reopened.metadata(DIGEST), Some(metadata()));
        // a file holding another digest's metadata is not trusted
        let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        fs_err::copy(&path, reopened.digest_path(other).unwrap()).unwrap();
        assert_eq!(FileCache::open(dir.path()).unwrap().metadata(other), None);
    }

    #[test]
    fn digests_that_cannot_be_file_names_are_kept_in_memory_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::open(dir.path()).unwrap();
        cache.put_metadata("sha256:../../etc/passwd", &metadata());
        assert!(cache.metadata("sha256:../../etc/passwd").is_some());
        assert_eq!(
            fs_err::read_dir(dir.path().join("digests"))
                .unwrap()
                .count(),
            0
        );
    }
}
