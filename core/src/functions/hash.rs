//! Hashing and identifiers: hex and base64 digests of strings, random and name-based UUIDs.
//! Strings are hashed as their UTF-8 bytes. File digests live in `fs.rs` and reuse `digest`.

use super::{Args, FuncError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use tarn_sdk::Value;

/// A digest algorithm, by the name Terraform's functions use.
#[derive(Clone, Copy)]
pub(crate) enum Algo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

pub(crate) fn digest(algo: Algo, bytes: &[u8]) -> Vec<u8> {
    match algo {
        Algo::Md5 => Md5::digest(bytes).to_vec(),
        Algo::Sha1 => Sha1::digest(bytes).to_vec(),
        Algo::Sha256 => Sha256::digest(bytes).to_vec(),
        Algo::Sha512 => Sha512::digest(bytes).to_vec(),
    }
}

pub(crate) fn hex_of(algo: Algo, bytes: &[u8]) -> Value {
    Value::String(hex::encode(digest(algo, bytes)))
}

pub(crate) fn base64_of(algo: Algo, bytes: &[u8]) -> Value {
    Value::String(STANDARD.encode(digest(algo, bytes)))
}

pub(crate) fn md5(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Md5, a.str(0)?.as_bytes()))
}

pub(crate) fn sha1(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha1, a.str(0)?.as_bytes()))
}

pub(crate) fn sha256(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha256, a.str(0)?.as_bytes()))
}

pub(crate) fn sha512(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha512, a.str(0)?.as_bytes()))
}

pub(crate) fn base64sha256(a: &Args) -> Result<Value, FuncError> {
    Ok(base64_of(Algo::Sha256, a.str(0)?.as_bytes()))
}

pub(crate) fn base64sha512(a: &Args) -> Result<Value, FuncError> {
    Ok(base64_of(Algo::Sha512, a.str(0)?.as_bytes()))
}

/// A random version 4 UUID. Impure: every call differs, as in Terraform.
pub(crate) fn uuid(_: &Args) -> Result<Value, FuncError> {
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

/// A name-based version 5 UUID (RFC 4122 §4.3). The namespace is a UUID or one of the names
/// `dns`, `url`, `oid`, `x500`, as in Terraform.
pub(crate) fn uuidv5(a: &Args) -> Result<Value, FuncError> {
    let ns = a.str(0)?;
    let namespace = match ns {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|_| {
            a.err(0, format!("uuidv5() doesn't support namespace \"{other}\"; use dns, url, oid, x500 or a UUID."))
        })?,
    };
    let mut input = namespace.as_bytes().to_vec();
    input.extend_from_slice(a.str(1)?.as_bytes());
    let hash = digest(Algo::Sha1, &input);
    let mut bytes = [0u8; 16];
    for (dst, src) in bytes.iter_mut().zip(&hash) {
        *dst = *src;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok(Value::String(uuid::Uuid::from_bytes(bytes).to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    #[test]
    fn digests() {
        assert_eq!(ok("md5", vec![s("hello world")]), s("5eb63bbbe01eeed093cb22bb8f5acdc3"));
        assert_eq!(ok("sha1", vec![s("hello world")]), s("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"));
        assert_eq!(
            ok("sha256", vec![s("hello world")]),
            s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        assert_eq!(
            ok("sha512", vec![s("hello world")]),
            s(
                "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"
            )
        );
        assert_eq!(ok("base64sha256", vec![s("hello world")]), s("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="));
        assert_eq!(
            ok("base64sha512", vec![s("hello world")]),
            s("MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==")
        );
        assert!(ok("md5", vec![s("pw").sensitive()]).is_sensitive());
    }

    #[test]
    fn uuids() {
        let Value::String(u) = ok("uuid", vec![]) else { panic!() };
        assert_eq!(u.len(), 36);
        assert_eq!(u.chars().nth(14), Some('4'));
        assert_ne!(ok("uuid", vec![]), ok("uuid", vec![]));
        assert_eq!(ok("uuidv5", vec![s("dns"), s("www.terraform.io")]), s("a5008fae-b28c-5ba5-96cd-82b4c53552d6"));
        assert_eq!(
            ok("uuidv5", vec![s("url"), s("https://www.terraform.io/")]),
            s("9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5")
        );
        assert_eq!(
            ok("uuidv5", vec![s("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), s("www.terraform.io")]),
            s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")
        );
        assert!(err("uuidv5", vec![s("nope"), s("x")]).contains("doesn't support namespace \"nope\""));
    }
}
