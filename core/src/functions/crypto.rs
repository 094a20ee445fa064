//! Password hashing and RSA decryption: `bcrypt` (random salt, Go's `$2a$` version, cost 10 by
//! default) and `rsadecrypt` (PKCS #1 v1.5, base64 ciphertext, PEM key), as Terraform 1.0.3
//! defines them, errors included: a ciphertext that is not base64 blames the first argument, a
//! key that does not parse the second, a failed decryption the call.

use super::args::to_int;
use super::{Args, FuncError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use tarn_sdk::Value;

/// Go's `bcrypt.DefaultCost`, used when none is given and, as Go does, for a cost below 4.
const DEFAULT_COST: i64 = 10;

pub(crate) fn bcrypt(a: &Args) -> Result<Value, FuncError> {
    let mut cost = DEFAULT_COST;
    if a.len() > 1 {
        let n = a.num(1)?;
        cost = to_int(n).ok_or_else(|| {
            FuncError::call("value must be a whole number, between -9223372036854775808 and 9223372036854775807.")
        })?;
    }
    if a.len() > 2 {
        return Err(FuncError::call("bcrypt() takes no more than two arguments."));
    }
    if cost < 4 {
        cost = DEFAULT_COST;
    }
    if cost > 31 {
        return Err(FuncError::call(format!(
            "error occured generating password crypto/bcrypt: cost {cost} is outside allowed range (4,31)."
        )));
    }
    // Like Go's bcrypt, a password past 72 bytes is truncated, not refused.
    let parts = ::bcrypt::hash_with_result(a.str(0)?, cost as u32)
        .map_err(|e| FuncError::call(format!("error occured generating password {e}.")))?;
    Ok(Value::String(parts.format_for_version(::bcrypt::Version::TwoA)))
}

pub(crate) fn rsadecrypt(a: &Args) -> Result<Value, FuncError> {
    let text = a.str(0)?;
    let ciphertext = STANDARD
        .decode(text)
        .map_err(|_| a.err(0, format!("failed to decode input {text:?}: cipher text must be base64-encoded.")))?;
    let key = private_key(a.str(1)?).map_err(|why| a.err(1, format!("invalid private key: {why}.")))?;
    let plain =
        key.decrypt(Pkcs1v15Encrypt, &ciphertext).map_err(|e| FuncError::call(format!("failed to decrypt: {e}.")))?;
    String::from_utf8(plain).map(Value::String).map_err(|_| FuncError::call("the decrypted text is not valid UTF-8."))
}

/// An RSA private key in PEM: PKCS #1 (`RSA PRIVATE KEY`) or PKCS #8 (`PRIVATE KEY`).
fn private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    let pem = pem.trim();
    if pem.contains("ENCRYPTED") {
        return Err("this private key is passphrase protected".into());
    }
    if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
    } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())
    } else {
        Err("ssh: no key found".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::call;
    use tarn_sdk::Value;

    fn string(v: Value) -> String {
        v.as_str().expect("a string").to_string()
    }

    /// Terraform's output is random-salted, so the hash is checked by verifying it.
    #[test]
    fn bcrypt_hashes_verify_with_go_version_and_cost() {
        let h = string(call("bcrypt", vec![Value::string("hunter2")]).unwrap());
        assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
        assert!(::bcrypt::verify("hunter2", &h).unwrap());
        assert!(!::bcrypt::verify("hunter3", &h).unwrap());
        let h = string(call("bcrypt", vec![Value::string("x"), Value::number(4.0)]).unwrap());
        assert!(h.starts_with("$2a$04$") && ::bcrypt::verify("x", &h).unwrap(), "{h}");
        // Below the minimum, Go uses its default cost.
        let h = string(call("bcrypt", vec![Value::string("x"), Value::number(3.0)]).unwrap());
        assert!(h.starts_with("$2a$10$"), "{h}");
        // Go truncates past 72 bytes instead of refusing.
        let long = "a".repeat(100);
        let h = string(call("bcrypt", vec![Value::string(long.clone())]).unwrap());
        assert!(::bcrypt::verify(&long, &h).unwrap());
    }

    #[test]
    fn bcrypt_refuses_what_terraform_refuses() {
        for (args, why) in [
            (vec![Value::string("x"), Value::number(32.0)], "outside allowed range (4,31)"),
            (vec![Value::string("x"), Value::number(31.5)], "whole number"),
            (vec![Value::string("x"), Value::number(4.0), Value::number(5.0)], "no more than two"),
        ] {
            let e = call("bcrypt", args).expect_err(why);
            assert!(e.message.contains(why) && e.arg.is_none(), "{e:?}");
        }
    }

    #[test]
    fn rsadecrypt_blames_the_argument_at_fault() {
        let e = call("rsadecrypt", vec![Value::string("%%%"), Value::string("k")]).unwrap_err();
        assert_eq!(e.arg, Some(0), "{e:?}");
        let e = call("rsadecrypt", vec![Value::string("aGk="), Value::string("not a key")]).unwrap_err();
        assert_eq!(e.arg, Some(1), "{e:?}");
    }
}
