//! Which OneDrive the fake plays. The two differ in ways the integration
//! must survive (Microsoft Graph docs, driveItem delta "Remarks", hashes
//! resource): OneDrive for Business (and SharePoint) is the default, because
//! it is what clients connect and it is the less friendly of the two.
//!
//! Every behaviour that differs is a method here, so fake code asks the
//! profile instead of matching on it.

use serde_json::{Value, json};

use crate::quickxor::quick_xor_hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// OneDrive for Business / SharePoint document libraries.
    #[default]
    Business,
    /// Personal OneDrive (consumer).
    Personal,
}

impl Profile {
    /// `driveType` in `parentReference`.
    pub fn drive_type(self) -> &'static str {
        match self {
            Self::Business => "business",
            Self::Personal => "personal",
        }
    }

    /// ODB delta omits `cTag` on created and modified items (it still sends
    /// it when an item is requested directly).
    pub fn ctag_in_delta(self) -> bool {
        self == Self::Personal
    }

    /// ODB delta never sends `parentReference.path`.
    pub fn path_in_delta(self) -> bool {
        self == Self::Personal
    }

    /// ODB tombstones carry only `id`, `deleted` and `parentReference`.
    pub fn name_in_tombstones(self) -> bool {
        self == Self::Personal
    }

    /// When a folder is deleted, ODB's delta lists the folder alone, not
    /// each item below it.
    pub fn lists_deleted_descendants(self) -> bool {
        self == Self::Personal
    }

    /// ODB delta repeats items across pages and lists ancestors of changed
    /// items again (the docs: "the same item may appear more than once").
    pub fn repeats_in_delta(self) -> bool {
        self == Self::Business
    }

    /// Whether SharePoint rewrites uploaded files of this name (it embeds
    /// metadata into Office documents and PDFs, so size and hash change).
    pub fn rewrites_upload(self, name: &str) -> bool {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        self == Self::Business
            && matches!(
                ext.as_str(),
                "docx"
                    | "xlsx"
                    | "pptx"
                    | "doc"
                    | "xls"
                    | "ppt"
                    | "pdf"
                    | "html"
                    | "htm"
                    | "jpg"
                    | "jpeg"
            )
    }

    /// `file.hashes` for this content: quickXorHash on ODB; personal
    /// OneDrive sends sha1Hash and sha256Hash (upper-case hex) as well.
    pub fn hashes(self, content: &[u8]) -> Value {
        match self {
            Self::Business => json!({ "quickXorHash": quick_xor_hash(content) }),
            Self::Personal => {
                use sha1::Digest as _;
                json!({
                    "quickXorHash": quick_xor_hash(content),
                    "sha1Hash": hex::encode_upper(sha1::Sha1::digest(content)),
                    "sha256Hash": hex::encode_upper(sha2::Sha256::digest(content)),
                })
            }
        }
    }
}
