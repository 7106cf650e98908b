//! Kubernetes core kinds gantry reads: `Secret` (Kargo credential Secrets).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; only for code that hands it to a credential helper.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A Kubernetes Secret. Kargo reads credentials from Secrets labelled
/// `kargo.akuity.io/cred-type` (`git`, `helm`, `image`, `generic`) with keys `repoURL` (or
/// `repoURLPattern`), `username`, `password`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// `v1`.
    pub api_version: String,
    /// `Secret`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Secret type (`Opaque`...).
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    /// Base64-encoded values.
    #[serde(default)]
    pub data: BTreeMap<String, SecretValue>,
    /// Plain values.
    #[serde(default)]
    pub string_data: BTreeMap<String, SecretValue>,
    /// Immutable.
    #[serde(default)]
    pub immutable: Option<bool>,
}

impl Secret {
    /// A value by key, from `stringData` or (decoded) `data`. Non-UTF-8 or invalid base64 is
    /// treated as missing.
    pub fn value(&self, key: &str) -> Option<String> {
        if let Some(value) = self.string_data.get(key) {
            return Some(value.expose().to_owned());
        }
        let encoded = self.data.get(key)?;
        let bytes = decode_base64(encoded.expose())?;
        String::from_utf8(bytes).ok()
    }
}

/// Standard base64 (padding optional, whitespace ignored).
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn sextet(byte: u8) -> Option<u32> {
        Some(u32::from(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        }))
    }
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut buffer = 0u32;
        for (i, byte) in chunk.iter().enumerate() {
            buffer |= sextet(*byte)? << (18 - 6 * i);
        }
        let bytes = buffer.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_never_print() {
        let value = SecretValue::new("hunter2");
        assert_eq!(format!("{value:?} {value}"), "*** ***");
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aHR0cHM6Ly9naXQ=").unwrap(), b"https://git");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("!!!!").is_none());
    }
}
