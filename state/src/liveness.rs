//! Is a lock holder still alive? Owns the host name, the pid probe and [`LockHolder::here`].
//!
//! It only answers for processes on this host (`kill(pid, 0)`); a holder on another host is
//! always presumed alive, and only its lease expiry frees the lock. It must not touch storage.

use std::sync::OnceLock;

use crate::model::LockHolder;

/// This machine's host name, as recorded in lock holders and run history.
pub fn this_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(read_host_name)
}

#[cfg(unix)]
fn read_host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `len` bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_string())
}

#[cfg(not(unix))]
fn read_host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".to_string())
}

/// Whether a process with this pid exists on this host. Unknown answers count as alive, so
/// that a doubt never steals a lock.
pub fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // pid 0 and values that wrap to negatives would address process groups, not a process.
        let Ok(pid) = i32::try_from(pid) else { return true };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 performs only the existence and permission check.
        let rc = unsafe { libc::kill(pid, 0) };
        if rc == 0 {
            return true;
        }
        // EPERM: it exists but belongs to someone else.
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A holder that ran on this host and whose process is gone: its lease counts as expired and
/// its unfinished runs as interrupted.
pub fn holder_is_dead(holder: &LockHolder) -> bool {
    holder.host == this_host() && !pid_alive(holder.pid)
}

impl LockHolder {
    /// The holder describing this process: `$USER`, host name, pid, and the given command line.
    pub fn here(command: impl Into<String>) -> LockHolder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_string());
        LockHolder { user, host: this_host().to_string(), pid: std::process::id(), command: command.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_dead() {
        assert!(pid_alive(std::process::id()));
        assert!(!holder_is_dead(&LockHolder::here("test")));
        let mut child = std::process::Command::new("true").spawn().expect("spawn `true`");
        let pid = child.id();
        child.wait().expect("wait for `true`");
        assert!(!pid_alive(pid));
        let mut dead = LockHolder::here("test");
        dead.pid = pid;
        assert!(holder_is_dead(&dead));
        dead.host = "elsewhere.invalid".into();
        assert!(!holder_is_dead(&dead), "a holder on another host is presumed alive");
    }

    #[test]
    fn process_group_pids_are_never_probed() {
        assert!(pid_alive(0));
        assert!(pid_alive(u32::MAX));
    }
}
