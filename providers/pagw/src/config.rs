//! The provider block: where the slot database is and which connection group is the roof.
//!
//! Owns [`PagwConfig`], parsed from the evaluated block with every problem in one message. The
//! database URL holds credentials: it is sensitive in the schema and never part of a message.
//!
//! The Proxmox API's token and certificate fingerprint may come from the environment instead
//! (`PAGW_PVE_API_TOKEN`, `PAGW_PVE_TLS_FINGERPRINT`), to keep them out of configuration files:
//! the block wins, and the environment's fingerprint is not used when the block gives
//! `proxmox_ca_file`.

use tarn_sdk::{ProviderError, Value};

/// Giif's default `PROJECT_CONNECTION_GROUP` (`.env.example`).
pub const DEFAULT_ROOF: &str = "Projects";

#[derive(Clone)]
pub struct PagwConfig {
    pub database_url: String,
    /// The roof connection group: every project's group is its child.
    pub roof_group: String,
    /// Create the Giif schema and the roof group when missing (fresh installs and tests).
    pub create_schema: bool,
    /// known_hosts file for PAGW hosts; without one, a host's key is trusted on first use.
    pub known_hosts_file: Option<String>,
    /// Environment for every command on a PAGW host (e.g. `DOCKER_HOST`).
    pub host_env: Vec<(String, String)>,
    /// The Docker client on the host.
    pub docker: String,
    /// `USER@REALM!TOKENID=SECRET` for the `proxmox-ve-api` driver, when the slot does not
    /// carry its own `PAGW_PVE_API_TOKEN`. Sensitive.
    pub proxmox_api_token: Option<String>,
    /// PEM file with the CA (or the self-signed certificate) of the Proxmox API hosts.
    pub proxmox_ca_file: Option<String>,
    /// SHA-256 fingerprint of the Proxmox API hosts' certificate, trusted alone (a slot's
    /// `PAGW_PVE_TLS_FINGERPRINT` wins). Exclusive with `proxmox_ca_file`.
    pub proxmox_tls_fingerprint: Option<String>,
    /// Where `proxmox_tls_fingerprint` came from, for messages.
    pub proxmox_tls_fingerprint_from: &'static str,
}

/// The environment variables the block's Proxmox settings fall back to.
pub const TOKEN_ENV: &str = "PAGW_PVE_API_TOKEN";
pub const FINGERPRINT_ENV: &str = "PAGW_PVE_TLS_FINGERPRINT";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl std::fmt::Debug for PagwConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagwConfig")
            .field("database_url", &"(sensitive)")
            .field("roof_group", &self.roof_group)
            .field("create_schema", &self.create_schema)
            .field("known_hosts_file", &self.known_hosts_file)
            .field("host_env", &self.host_env)
            .field("docker", &self.docker)
            .field("proxmox_api_token", &self.proxmox_api_token.as_ref().map(|_| "(sensitive)"))
            .field("proxmox_ca_file", &self.proxmox_ca_file)
            .field("proxmox_tls_fingerprint", &self.proxmox_tls_fingerprint)
            .finish()
    }
}

impl PagwConfig {
    pub fn parse(config: &Value) -> Result<PagwConfig, ProviderError> {
        let mut problems = Vec::new();
        let database_url = config.get("database_url").and_then(Value::as_str).unwrap_or_default().to_string();
        if database_url.is_empty() {
            problems.push("\"database_url\" is required: mysql://USER:PASSWORD@HOST:PORT/DATABASE of Giif's MariaDB");
        } else if !database_url.starts_with("mysql://") {
            problems.push("\"database_url\" must start with mysql:// (the value is not shown: it holds credentials)");
        }
        let roof_group = config.get("roof_group").and_then(Value::as_str).unwrap_or(DEFAULT_ROOF).to_string();
        if roof_group.trim().is_empty() {
            problems.push("\"roof_group\" must not be empty");
        }
        let create_schema = config.get("create_schema").and_then(Value::as_bool).unwrap_or(false);
        let known_hosts_file = config.get("known_hosts_file").and_then(Value::as_str).map(str::to_string);
        let mut host_env = Vec::new();
        if let Some(map) = config.get("host_env").and_then(Value::as_map) {
            for (k, v) in map {
                match v.as_str() {
                    Some(v) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                        host_env.push((k.clone(), v.to_string()))
                    }
                    _ => problems.push("\"host_env\" must map variable names to strings"),
                }
            }
        }
        let docker = config.get("docker").and_then(Value::as_str).unwrap_or("docker").to_string();
        let mut owned = Vec::new();
        let token_in_block =
            config.get("proxmox_api_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        let token_from = if token_in_block.is_some() { "\"proxmox_api_token\"" } else { TOKEN_ENV };
        let proxmox_api_token = token_in_block.or_else(|| env(TOKEN_ENV));
        if proxmox_api_token.as_deref().is_some_and(|t| !crate::host::proxmox_api::token_is_well_formed(t)) {
            owned.push(format!("{token_from} must read USER@REALM!TOKENID=SECRET (the value is not shown)"));
        }
        let proxmox_ca_file = config.get("proxmox_ca_file").and_then(Value::as_str).map(str::to_string);
        let fingerprint_in_block =
            config.get("proxmox_tls_fingerprint").and_then(Value::as_str).filter(|f| !f.is_empty()).map(str::to_string);
        let (proxmox_tls_fingerprint, proxmox_tls_fingerprint_from) = match fingerprint_in_block {
            Some(fp) => (Some(fp), "the provider's proxmox_tls_fingerprint"),
            None if proxmox_ca_file.is_none() => {
                (env(FINGERPRINT_ENV), "the PAGW_PVE_TLS_FINGERPRINT environment variable")
            }
            None => (None, ""),
        };
        if let Some(fp) = &proxmox_tls_fingerprint {
            if let Err(e) = tarn_sdk::http::pinned::parse_fingerprint(fp) {
                owned.push(format!("{proxmox_tls_fingerprint_from}: {e}"));
            }
            if proxmox_ca_file.is_some() {
                owned.push("\"proxmox_tls_fingerprint\" and \"proxmox_ca_file\" exclude each other: give one".into());
            }
        }
        if !problems.is_empty() || !owned.is_empty() {
            let all: Vec<String> = problems.iter().map(|p| p.to_string()).chain(owned).collect();
            return Err(ProviderError::permanent(format!("pagw provider: {}", all.join("; "))));
        }
        Ok(PagwConfig {
            database_url,
            roof_group,
            create_schema,
            known_hosts_file,
            host_env,
            docker,
            proxmox_api_token,
            proxmox_ca_file,
            proxmox_tls_fingerprint,
            proxmox_tls_fingerprint_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[(&str, &str)]) -> Result<PagwConfig, String> {
        let mut pairs = vec![("database_url", "mysql://u:p@127.0.0.1:3306/giif")];
        pairs.extend_from_slice(extra);
        PagwConfig::parse(&Value::map(pairs.into_iter().map(|(k, v)| (k, Value::string(v))))).map_err(|e| e.message)
    }

    #[test]
    fn a_pinned_fingerprint_is_checked_and_excludes_a_ca_file() {
        let fp = "E5:85:C7:EF:23:96:42:FF:E3:89:89:EC:8E:1E:A0:20:3D:75:0D:C6:7E:AD:C3:DD:8D:D4:7C:CF:35:52:B1:87";
        let c = parse(&[("proxmox_tls_fingerprint", fp)]).unwrap();
        assert_eq!(c.proxmox_tls_fingerprint.as_deref(), Some(fp));
        let e = parse(&[("proxmox_tls_fingerprint", "E5:85")]).unwrap_err();
        assert!(e.contains("proxmox_tls_fingerprint") && e.contains("not a SHA-256 certificate fingerprint"), "{e}");
        let e = parse(&[("proxmox_api_token", "root@pam=secret-value")]).unwrap_err();
        assert!(e.contains("proxmox_api_token") && !e.contains("secret-value"), "{e}");
        let e = parse(&[("proxmox_tls_fingerprint", fp), ("proxmox_ca_file", "/etc/pve/pve-root-ca.pem")]).unwrap_err();
        assert!(e.contains("exclude each other"), "{e}");
    }
}
