//! A harness for step unit tests: a temp work dir, a temp git data dir, and one-call runs.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use gantry_core::credentials::CredentialStore;
use gantry_engine::{
    PromotionContext, PromotionData, StepError, StepInfo, StepRequest, StepResult, StepRunner,
};

use crate::registry::{RecordedMetadata, Registry, Services};
use crate::workdir::WorkDir;

pub(crate) struct Harness {
    _temp: tempfile::TempDir,
    root: std::path::PathBuf,
    pub(crate) registry: Registry,
    pub(crate) metadata: Arc<RecordedMetadata>,
    pub(crate) data: PromotionData,
    pub(crate) context: PromotionContext,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(CredentialStore::default(), false)
    }

    pub(crate) fn with(credentials: CredentialStore, dry_run: bool) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let work = temp.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let git =
            gantry_git::Git::new(gantry_git::GitOptions::new(temp.path().join("data"))).unwrap();
        let metadata = Arc::new(RecordedMetadata::default());
        let registry = Registry::builtin(Services {
            git: Arc::new(git),
            credentials: Arc::new(credentials),
            work_dir: WorkDir::open(&work).unwrap(),
            metadata: metadata.clone(),
            dry_run,
            skip: Vec::new(),
        });
        Self {
            root: work.canonicalize().unwrap(),
            _temp: temp,
            registry,
            metadata,
            data: PromotionData::default(),
            context: PromotionContext {
                project: "demo".into(),
                stage: "dev".into(),
                promotion: "dev.01abc.1234567".into(),
                ..PromotionContext::default()
            },
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.root
    }

    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.root.join(relative);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        fs_err::read_to_string(self.root.join(relative)).unwrap()
    }

    pub(crate) fn info(&self, kind: &str) -> StepInfo {
        self.registry.info(kind).unwrap()
    }

    pub(crate) fn run(
        &self,
        kind: &str,
        config: serde_json::Value,
    ) -> Result<StepResult, StepError> {
        let request = StepRequest {
            kind,
            alias: "step-1",
            config,
            context: &self.context,
            data: &self.data,
            started_at: SystemTime::now(),
            error_count: 0,
        };
        self.registry.run(&request)
    }
}
