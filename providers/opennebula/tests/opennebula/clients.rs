//! The oned XML-RPC and OneFlow clients against the emulator: the envelope's error codes as
//! classes, VMs moving PENDING → PROLOG → BOOT → RUNNING over time, documents, the asynchronous
//! undeploy, authentication, and the fault switches (a 5xx on a read is retried, on a change it
//! is not).

use std::time::Duration;

use serde_json::json;
use tarn_sdk::{ErrorClass, ErrorKind};

use crate::common::Env;

#[tokio::test]
async fn errors_of_the_envelope_become_classes() {
    let env = Env::start().await;
    let api = env.api();
    assert!(api.oned.vm(42).await.expect("NO_EXISTS is None").is_none());
    let e = api.oned.vm_resize(42, "CPU=1", true).await.expect_err("no VM");
    assert_eq!(e.class, ErrorClass::NotFound, "{}", e.message);
    assert!(e.message.contains("[one.vm.resize] Error getting virtual machine [42]"), "{}", e.message);
    let e = api.oned.template(2).await.expect_err("not the caller's template");
    assert_eq!((e.class, e.kind), (ErrorClass::Permanent, Some(ErrorKind::Denied)));
    assert!(e.message.contains("error 0x0200") && e.message.contains("Not authorized"), "{}", e.message);
    let mut wrong = env.settings();
    wrong.password = "nope".into();
    let bad = env.api_with(wrong);
    let e = bad.oned.vms().await.expect_err("bad session");
    assert_eq!(e.kind, Some(ErrorKind::Unauthenticated), "{}", e.message);
    assert!(e.message.contains("0x0100") && e.message.contains("username and password"), "{}", e.message);
    let e = bad.flow.services().await.expect_err("bad Basic credentials");
    assert_eq!((e.class, e.kind), (ErrorClass::Permanent, Some(ErrorKind::Unauthenticated)));
    assert!(e.message.contains("HTTP 401") && e.message.contains("Invalid credentials"), "{}", e.message);
}

#[tokio::test]
async fn a_service_deploys_over_time_and_undeploys_asynchronously() {
    let env = Env::with_step(Duration::from_millis(60)).await;
    let api = env.api();
    let service = api.flow.instantiate(0, &json!({"name": "raw"})).await.expect("instantiate");
    let id: u64 = service["ID"].as_str().expect("id").parse().expect("number");
    assert_eq!(service["TEMPLATE"]["BODY"]["state"], 0, "PENDING at first");
    let mut seen = Vec::new();
    for _ in 0..100 {
        if let Some(s) = api.flow.service(id).await.expect("get") {
            if let Some(vm) =
                tarn_provider_opennebula::oneflow::roles(&s).first().and_then(|(_, _, ids)| ids.first().copied())
            {
                let vm = api.oned.vm(vm).await.expect("info").expect("vm");
                if seen.last() != Some(&vm.state_text()) {
                    seen.push(vm.state_text());
                }
                if vm.state_text() == "ACTIVE/RUNNING" {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, ["PENDING/LCM_INIT", "ACTIVE/PROLOG", "ACTIVE/BOOT", "ACTIVE/RUNNING"]);
    let (s, _) = api.wait_running(id).await.expect("running");
    assert_eq!(tarn_provider_opennebula::oneflow::state(&s), 2);
    assert!(api.flow.delete_service(id).await.expect("delete"));
    let s = api.flow.service(id).await.expect("get").expect("still there while undeploying");
    assert_eq!(tarn_provider_opennebula::oneflow::state(&s), 3, "UNDEPLOYING");
    api.remove_service(id).await.expect("gone");
    assert!(api.flow.service(id).await.expect("get").is_none());
    assert!(!api.flow.delete_service(id).await.expect("already gone"));
}

#[tokio::test]
async fn documents_are_allocated_read_updated_listed_and_deleted() {
    let env = Env::start().await;
    let api = env.api();
    let id = api.oned.document_allocate(1337, "doc <&>", "{\"A\":\"]]>\"}").await.expect("allocate");
    let doc = api.oned.document(id).await.expect("info").expect("doc");
    assert_eq!(
        (doc.name.as_str(), doc.doc_type.as_str(), doc.body.as_deref()),
        ("doc <&>", "1337", Some("{\"A\":\"]]>\"}"))
    );
    api.oned.document_update(id, "{\"B\":1}").await.expect("update");
    api.oned.document_rename(id, "renamed").await.expect("rename");
    let all = api.oned.documents(1337).await.expect("pool");
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].name.as_str(), all[0].body.as_deref()), ("renamed", Some("{\"B\":1}")));
    assert!(api.oned.documents(100).await.expect("pool").is_empty());
    assert!(api.oned.document_delete(id).await.expect("delete"));
    assert!(!api.oned.document_delete(id).await.expect("already gone"));
}

#[tokio::test]
async fn a_server_error_is_retried_on_reads_and_not_on_changes() {
    let env = Env::start().await;
    let api = env.api();
    env.running.faults.fail_next(1, 503, json!({"message": "Internal server error"}));
    assert!(api.oned.vms().await.expect("a read is sent again").is_empty());
    env.running.faults.fail_next(1, 503, json!({"message": "Internal server error"}));
    let e = api.oned.document_allocate(1337, "x", "{}").await.expect_err("a change is not repeated");
    assert_eq!(e.class, ErrorClass::Transient, "{}", e.message);
    assert!(api.oned.documents(1337).await.expect("pool").is_empty(), "nothing was allocated twice");
    env.running.faults.fail_next(1, 503, json!({"message": "Internal server error"}));
    assert_eq!(api.flow.service_templates().await.expect("GET is retried").len(), 4);
}
