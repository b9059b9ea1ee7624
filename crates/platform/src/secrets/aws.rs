//! Secrets in AWS Secrets Manager.

use std::fmt;

use aws_sdk_secretsmanager::{
    Client,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    operation::{
        delete_secret::DeleteSecretError, get_secret_value::GetSecretValueError,
        put_secret_value::PutSecretValueError,
    },
};

use super::{Secret, SecretError, SecretFuture, SecretProvider, SecretRef};

/// Secrets Manager as a [`SecretProvider`]. A name is `<secret-id>` (the
/// whole secret string) or `<secret-id>#<key>` (one key of a JSON object).
/// The current version (`AWSCURRENT`) is read every time, so a rotated
/// secret is seen at the next fetch.
#[derive(Clone)]
pub struct AwsSecrets {
    client: Client,
}

impl fmt::Debug for AwsSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsSecrets")
    }
}

impl AwsSecrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client configured the standard way (see [`crate::aws`]).
    pub async fn from_env() -> Self {
        Self::new(Client::new(&crate::aws::config_from_env().await))
    }

    /// Stores `value` as the current version of the secret `id`, creating
    /// the secret when it does not exist yet. Errors never carry the value.
    pub async fn put(&self, id: &str, value: &Secret) -> Result<(), SecretError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value.expose())
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutSecretValueError::ResourceNotFoundException(_)) =>
            {
                self.client
                    .create_secret()
                    .name(id)
                    .secret_string(value.expose())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| written(id, &e))
            }
            Err(e) => Err(written(id, &e)),
        }
    }

    /// Deletes the secret `id` at once (no recovery window, so the same name
    /// can be stored again); one that does not exist is fine.
    pub async fn delete(&self, id: &str) -> Result<(), SecretError> {
        let deleted = self
            .client
            .delete_secret()
            .secret_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteSecretError::ResourceNotFoundException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(written(id, &e)),
        }
    }

    async fn fetch(&self, reference: &SecretRef) -> Result<Secret, SecretError> {
        let shown = reference.to_string();
        let unreadable = |reason: String| SecretError::Unreadable {
            name: shown.clone(),
            reason,
        };
        let output = match self
            .client
            .get_secret_value()
            .secret_id(&reference.id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                return Err(SecretError::NotFound { name: shown });
            }
            Err(SdkError::ServiceError(e)) => {
                let e = e.into_err();
                return Err(unreadable(format!(
                    "Secrets Manager answered {}: {}",
                    e.code().unwrap_or("an error"),
                    e.message().unwrap_or("no message")
                )));
            }
            Err(e @ (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_))) => {
                return Err(unreadable(format!(
                    "Secrets Manager cannot be reached: {}",
                    DisplayErrorContext(e)
                )));
            }
            // Anything else may carry pieces of the answer: say nothing of it.
            Err(_) => return Err(unreadable("Secrets Manager answered unexpectedly".into())),
        };
        let text = match (output.secret_string(), output.secret_binary()) {
            (Some(text), _) => text.to_owned(),
            (None, Some(binary)) => String::from_utf8(binary.as_ref().to_vec())
                .map_err(|_| unreadable("it is binary, not text".into()))?,
            (None, None) => return Err(unreadable("it has no value".into())),
        };
        match &reference.key {
            None => Ok(Secret::new(text)),
            Some(key) => json_key(&text, key).map_err(unreadable),
        }
    }
}

/// A failed write, described by the service's error code only: the request
/// carried the value, so nothing of it is quoted.
fn written<E: ProvideErrorMetadata, R>(id: &str, error: &SdkError<E, R>) -> SecretError {
    let reason = if let SdkError::ServiceError(e) = error {
        format!(
            "Secrets Manager answered {}",
            e.err().code().unwrap_or("an error")
        )
    } else if matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    ) {
        "Secrets Manager cannot be reached".to_owned()
    } else {
        "Secrets Manager answered unexpectedly".to_owned()
    };
    SecretError::Unreadable {
        name: format!("aws:{id}"),
        reason,
    }
}

/// One key of a JSON object. Errors never quote the text: it is the secret.
fn json_key(text: &str, key: &str) -> Result<Secret, String> {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(text) else {
        return Err(format!("it is not a JSON object, so it has no key {key:?}"));
    };
    match object.remove(key) {
        Some(serde_json::Value::String(value)) => Ok(Secret::new(value)),
        Some(serde_json::Value::Number(value)) => Ok(Secret::new(value.to_string())),
        Some(serde_json::Value::Bool(value)) => Ok(Secret::new(value.to_string())),
        Some(_) => Err(format!("its key {key:?} is not a string or a number")),
        None => Err(format!("it has no key {key:?}")),
    }
}

impl SecretProvider for AwsSecrets {
    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a> {
        Box::pin(async move {
            let reference =
                SecretRef::parse_name(name).map_err(|reason| SecretError::Unreadable {
                    name: format!("aws:{name}"),
                    reason,
                })?;
            self.fetch(&reference).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::json_key;

    #[test]
    fn json_keys_without_quoting_the_secret() {
        let rds = r#"{"username":"folio","password":"pa55\"word","port":3306,"host":"db"}"#;
        assert_eq!(json_key(rds, "password").unwrap().expose(), "pa55\"word");
        assert_eq!(json_key(rds, "port").unwrap().expose(), "3306");
        let missing = json_key(rds, "passwd").unwrap_err();
        assert_eq!(missing, r#"it has no key "passwd""#);
        let not_json = json_key("pa55word", "password").unwrap_err();
        assert!(!not_json.contains("pa55word"), "{not_json}");
        let broken = json_key(r#"{"password":"pa55word""#, "password").unwrap_err();
        assert!(!broken.contains("pa55word"), "{broken}");
    }
}
