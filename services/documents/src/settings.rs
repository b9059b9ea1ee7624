//! The documents service's configuration, from `FOLIO_DOCUMENTS_*` variables.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use folio_platform::{
    config::{ByteSize, ConfigError, Env, Platform, PlatformVars},
    db::DatabaseSettings,
    secrets::Secret,
};

pub const PREFIX: &str = "FOLIO_DOCUMENTS_";

/// Its [`Platform`]: plain HTTP for `/healthz` and `/readyz`.
pub const PLATFORM: PlatformVars = PlatformVars {
    identity: "documents",
    http_addr_key: "HTTP_ADDR",
    http_port: 8082,
    https: false,
};

/// Where blobs live: a local folder, or a bucket (and key prefix) in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Directory(PathBuf),
    S3(S3Settings),
}

/// An S3 bucket for blobs. Objects are written with server-side encryption
/// requested: SSE-KMS with `kms_key_id` when set, SSE-S3 (`AES256`) otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Every key starts with this (no leading or trailing `/`); may be empty.
    pub prefix: String,
    pub region: String,
    /// Another S3 endpoint (`http://` allowed), e.g. an emulator in tests.
    pub endpoint: Option<String>,
    pub kms_key_id: Option<String>,
    pub credentials: S3Credentials,
}

/// How requests to S3 are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Credentials {
    /// The standard AWS chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
    /// web identity (IRSA in EKS), container credentials, instance metadata.
    Environment,
    /// A fixed key, for embedding the service (tests against an emulator).
    Static {
        access_key_id: String,
        secret_access_key: Secret,
    },
}

/// `FOLIO_DOCUMENTS_BLOB_URL` as written: `file:///dir`, a path, or `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BlobUrl {
    Directory(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl FromStr for BlobUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("file://") {
            return Ok(Self::Directory(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            // Checked before parsing, which would resolve them away.
            if rest
                .split(['/', '?', '#'])
                .any(|part| part == "." || part == "..")
            {
                return Err("the key prefix may not contain . or .. segments".to_owned());
            }
            let url = url::Url::parse(s).map_err(|_| "malformed s3:// URL".to_owned())?;
            let bucket = url.host_str().unwrap_or_default();
            if !valid_bucket(bucket) {
                return Err("expected s3://<bucket>/<prefix> with a valid bucket name".to_owned());
            }
            if !url.username().is_empty()
                || url.port().is_some()
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err("an s3:// URL has only a bucket and a key prefix".to_owned());
            }
            let prefix = url.path().trim_matches('/');
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if s.contains("://") {
            return Err("expected file://…, s3://bucket/prefix or a path".to_owned());
        }
        Ok(Self::Directory(PathBuf::from(s)))
    }
}

/// S3's rules for bucket names: 3–63 lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: Platform,
    /// gRPC over mTLS.
    pub grpc_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub blobs: BlobLocation,
    pub max_upload_bytes: u64,
    /// `https://host:port` of the users service (assignee checks).
    pub users_url: String,
    /// How often the retention job runs (`FOLIO_DOCUMENTS_RETENTION_INTERVAL_SECS`,
    /// default one hour); it does nothing for organisations without a policy.
    pub retention_interval: Duration,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::new(PREFIX)).await
    }

    /// From `env` (`FOLIO_DOCUMENTS_` and the global `FOLIO_` variables).
    pub async fn read(env: &Env) -> Result<Self, ConfigError> {
        let data_dir = env.data_dir()?;
        let database = DatabaseSettings::from_env(env, "documents.db").await?;
        let blobs = match env.or("BLOB_URL", BlobUrl::Directory(data_dir.join("blobs")))? {
            BlobUrl::Directory(dir) => BlobLocation::Directory(dir),
            BlobUrl::S3 { bucket, prefix } => BlobLocation::S3(s3_from_env(env, bucket, prefix)?),
        };
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50052)))?,
            platform: Platform::from_env(env, &PLATFORM)?,
            database,
            blobs,
            max_upload_bytes: env.or("MAX_UPLOAD_BYTES", ByteSize(2 << 30))?.0,
            users_url: env.or("USERS_URL", "https://localhost:50051".to_owned())?,
            retention_interval: Duration::from_secs(
                env.or("RETENTION_INTERVAL_SECS", 3600_u64)?.max(1),
            ),
        })
    }
}

/// `FOLIO_DOCUMENTS_S3_*`; the region falls back to the SDK's `AWS_REGION`
/// (which EKS sets for IRSA) and `AWS_DEFAULT_REGION`.
fn s3_from_env(env: &Env, bucket: String, prefix: String) -> Result<S3Settings, ConfigError> {
    let region = match env.optional::<String>("S3_REGION")? {
        Some(region) => region,
        None => env
            .optional_exact::<String>("AWS_REGION")?
            .or(env.optional_exact::<String>("AWS_DEFAULT_REGION")?)
            .ok_or_else(|| ConfigError::Missing {
                var: format!(
                    "{} (or AWS_REGION) for an s3:// blob URL",
                    env.var_name("S3_REGION")
                ),
            })?,
    };
    let endpoint = env.optional::<url::Url>("S3_ENDPOINT")?;
    if let Some(endpoint) = &endpoint
        && !matches!(endpoint.scheme(), "http" | "https")
    {
        return Err(ConfigError::Invalid {
            var: env.var_name("S3_ENDPOINT"),
            reason: "expected an http:// or https:// URL".to_owned(),
        });
    }
    Ok(S3Settings {
        bucket,
        prefix,
        region,
        endpoint: endpoint.map(|e| e.as_str().trim_end_matches('/').to_owned()),
        kms_key_id: env.optional("S3_KMS_KEY_ID")?,
        credentials: S3Credentials::Environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(name: &str) -> Option<String> {
        match name {
            "FOLIO_DOCUMENTS_S3_KMS_KEY_ID" => Some("alias/folio-dev-documents".into()),
            "FOLIO_DOCUMENTS_S3_ENDPOINT" => Some("http://127.0.0.1:9000/".into()),
            "AWS_REGION" => Some("eu-central-1".into()),
            _ => None,
        }
    }

    fn bare(name: &str) -> Option<String> {
        match name {
            "FOLIO_DOCUMENTS_S3_ENDPOINT" => Some("ftp://example.com".into()),
            _ => None,
        }
    }

    #[test]
    fn s3_settings_come_from_the_environment() {
        let s3 = s3_from_env(
            &Env::with_lookup(PREFIX, cloud),
            "b-1".into(),
            "blobs".into(),
        )
        .unwrap();
        assert_eq!(
            s3.region, "eu-central-1",
            "AWS_REGION when S3_REGION is unset"
        );
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.kms_key_id.as_deref(), Some("alias/folio-dev-documents"));
        assert_eq!(s3.credentials, S3Credentials::Environment);
        let err = s3_from_env(&Env::with_lookup(PREFIX, bare), "b-1".into(), String::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("FOLIO_DOCUMENTS_S3_REGION"), "{err}");
    }

    #[test]
    fn blob_urls_parse() {
        assert_eq!(
            "file:///var/blobs".parse::<BlobUrl>().unwrap(),
            BlobUrl::Directory("/var/blobs".into())
        );
        assert_eq!(
            "./blobs".parse::<BlobUrl>().unwrap(),
            BlobUrl::Directory("./blobs".into())
        );
        assert_eq!(
            "s3://folio-dev-documents/blobs/"
                .parse::<BlobUrl>()
                .unwrap(),
            BlobUrl::S3 {
                bucket: "folio-dev-documents".into(),
                prefix: "blobs".into()
            }
        );
        assert_eq!(
            "s3://folio-dev-documents".parse::<BlobUrl>().unwrap(),
            BlobUrl::S3 {
                bucket: "folio-dev-documents".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "s3://",
            "s3://Upper/x",
            "s3://ab/x",
            "s3://-bucket/x",
            "s3://bucket/../x",
            "s3://bucket/x?versionId=1",
            "s3://bucket/x#y",
            "s3://key:secret@bucket/x",
            "gs://bucket/x",
        ] {
            assert!(bad.parse::<BlobUrl>().is_err(), "{bad}");
        }
    }
}
