//! The password and every token stay out of the logs: a whole lifecycle at trace level, with a
//! token renewal after a 401 and a refused login, then the captured log is searched for them.

use tarn_provider_openstack::{INSTANCE, KEYPAIR};
use tarn_sdk::log_capture::captured;
use tarn_sdk::{DeleteRequest, Provider, ReadRequest};

use crate::common::{Env, PASSWORD, create, public_key, server};

#[tokio::test]
async fn trace_logs_never_show_the_password_or_a_token() {
    let log = captured();
    let env = Env::start().await;
    let p = env.provider();
    let key = create(&p, KEYPAIR, crate::keypair::keypair("logs", &public_key(3)), "tarn-l1").await;
    let vm = create(&p, INSTANCE, server("dev-logs"), "tarn-l2").await;
    env.emulator.expire_tokens();
    p.read(ReadRequest { type_name: INSTANCE.into(), state: vm.clone() }).await.expect("read after a 401");
    p.delete(DeleteRequest { type_name: INSTANCE.into(), state: vm }).await.expect("delete");
    p.delete(DeleteRequest { type_name: KEYPAIR.into(), state: key }).await.expect("delete");
    let mut wrong = env.creds();
    wrong.password = format!("{PASSWORD}-wrong");
    let err = env.api_with(wrong).servers(&[]).await.expect_err("refused");
    assert!(!err.message.contains(PASSWORD), "{}", err.message);

    let tokens = env.emulator.token_values();
    assert!(tokens.len() >= 2, "a renewal happened: {tokens:?}");
    let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("http request") && text.contains("Keystone issued a token"), "trace lines: {text}");
    assert!(!text.contains(PASSWORD), "the password reached the log:\n{text}");
    for t in tokens {
        assert!(!text.contains(&t), "a token reached the log:\n{text}");
    }
}
