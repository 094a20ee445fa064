//! The image build on the PAGW host (step 7 of `build_and_deploy.sh`): the build context
//! uploaded over SFTP to `PAGW_HOST_HOME/pagw-build-<project>`, `docker build`, the builder run
//! with its environment in an env-file of mode 0600 (`PUBIP`, `PUBMASK`, `PUBGW`,
//! `PAGW_HOSTNAME`, `SSH_PUBKEY`, `SUDO_PASSWORD`: never on a command line), the image copied out
//! through `PAGW_HOST_DOCKER_TMP` to `PAGW_HOST_HOME/<project>.img`, and `qemu-img info` checking
//! its format.
//!
//! The upload directory, env-file and builder container are removed whatever happens; a failed
//! build leaves no `.img` behind.

use std::path::Path;

use tarn_sdk::ProviderError;

use super::{Host, quote};
use crate::db::slots::Slot;

/// What the build needs beyond the slot.
pub struct BuildSpec<'a> {
    pub project: &'a str,
    pub password: &'a str,
    pub context: &'a Path,
    /// `docker build/run --network`, when set (hosts whose Docker has no default bridge).
    pub network: Option<&'a str>,
    pub docker: &'a str,
    /// The format `qemu-img info` must report.
    pub format: &'a str,
}

/// `PAGW_HOST_HOME/<project>.img`.
pub fn image_path(host: &Host, project: &str) -> String {
    format!("{}/{project}.img", host.home)
}

fn env_line(name: &str, value: &str) -> Result<String, ProviderError> {
    if value.contains('\n') || value.contains('\r') {
        return Err(ProviderError::permanent(format!("{name} contains a line break, which an env-file cannot carry")));
    }
    Ok(format!("{name}={value}\n"))
}

/// Builds the image; returns its path on the host.
pub async fn build(host: &Host, slot: &Slot, spec: &BuildSpec<'_>) -> Result<String, ProviderError> {
    let dir = format!("{}/pagw-build-{}", host.home, spec.project);
    let container = format!("pagw-builder-{}", spec.project);
    let result = run_build(host, slot, spec, &dir, &container).await;
    // Whatever happened: no build directory, env-file (password) or builder container left.
    host.run_quietly(&format!(
        "rm -rf {d}; {docker} container rm -f {c} >/dev/null 2>&1; rm -f {tmp}",
        d = quote(&dir),
        docker = spec.docker,
        c = quote(&container),
        tmp = quote(&format!("{}/pagw-{}.img", host.docker_tmp, spec.project)),
    ))
    .await;
    if result.is_err() {
        host.run_quietly(&format!("rm -f {}", quote(&image_path(host, spec.project)))).await;
    }
    result
}

async fn run_build(
    host: &Host,
    slot: &Slot,
    spec: &BuildSpec<'_>,
    dir: &str,
    container: &str,
) -> Result<String, ProviderError> {
    if !spec.context.is_dir() {
        return Err(ProviderError::permanent(format!(
            "the build context {} is not a directory on this machine",
            spec.context.display()
        )));
    }
    host.run("preparing the build directory", &format!("rm -rf {d} && mkdir -p {d}", d = quote(dir))).await?;
    host.session.upload_dir(spec.context, dir).await?;
    let mut env = String::new();
    env.push_str(&env_line("PUBIP", &slot.ip)?);
    env.push_str(&env_line("PUBMASK", slot.var("PAGW_MASK").unwrap_or_default())?);
    env.push_str(&env_line("PUBGW", slot.var("PAGW_GATEWAY").unwrap_or_default())?);
    env.push_str(&env_line("PAGW_HOSTNAME", spec.project)?);
    env.push_str(&env_line("SSH_PUBKEY", slot.var("PAGW_SSH_PUBKEY").unwrap_or_default())?);
    env.push_str(&env_line("SUDO_PASSWORD", spec.password)?);
    // tarn's addition: where the builder must leave the image (Giif hard-codes PAGW_HOST_HOME).
    env.push_str(&env_line("PAGW_IMAGE_PATH", &format!("{}/pagw.img", host.home))?);
    let env_file = format!("{dir}/.pagw.env");
    host.session.upload_bytes(env.as_bytes(), &env_file, 0o600).await?;
    let network = spec.network.map(|n| format!(" --network {}", quote(n))).unwrap_or_default();
    let docker = spec.docker;
    let tmp_name = format!("pagw-{}.img", spec.project);
    let image = image_path(host, spec.project);
    let script = format!(
        "set -e; cd {d}; img=$({docker} build -q{network} .); \
         {docker} container rm -f {c} >/dev/null 2>&1 || true; \
         {docker} run --name {c}{network} --env-file {env} \"$img\"; \
         {docker} cp {c}:{inside} {tmp}; {docker} container rm {c} >/dev/null; \
         mv {from} {image}",
        d = quote(dir),
        c = quote(container),
        env = quote(&env_file),
        inside = quote(&format!("{}/pagw.img", host.home)),
        tmp = quote(&format!("/tmp/{tmp_name}")),
        from = quote(&format!("{}/{tmp_name}", host.docker_tmp)),
        image = quote(&image),
    );
    host.run(&format!("building the image of {}", spec.project), &script).await?;
    let info = host.run("checking the image", &format!("qemu-img info --output=json {}", quote(&image))).await?;
    let json: serde_json::Value = serde_json::from_str(&info.stdout).map_err(|e| {
        ProviderError::permanent(format!("qemu-img info on {image} printed something other than JSON: {e}"))
    })?;
    let format = json.get("format").and_then(serde_json::Value::as_str).unwrap_or("(none)");
    if format != spec.format {
        return Err(ProviderError::permanent(format!(
            "the built image {image} is {format}, not {}; nothing was deployed",
            spec.format
        )));
    }
    Ok(image)
}
