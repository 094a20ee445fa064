//! The emulator's answers against the vendor's files (`vendor`): the provider's whole
//! lifecycle and its failures, plus a few raw calls for the answers a client never provokes
//! on purpose, every exchange recorded and checked, and every method the provider uses seen
//! answering with success.

use tarn_sdk::http::{Client, Method};
use tarn_sdk::{DeleteRequest, Provider, UpdateRequest, Value};

use crate::common::{RUNTIME, create, read, runtime, s, text, try_create, with, with_in};
use crate::vendor::Recorded;

fn id_of(state: &Value) -> u64 {
    s(state, "service_id").parse().expect("a service id")
}

#[tokio::test]
async fn every_answer_follows_the_vendor_files_and_every_xml_answer_its_xsd() {
    let recorded = Recorded::start(std::time::Duration::from_millis(15)).await;
    let env = &recorded.env;
    let base = env.running.base_url.clone();
    // The provider's whole lifecycle, and its failures.
    let p = env.provider();
    let created = create(&p, runtime("spec", "Function", Some("Data")), "spec-1").await;
    let resized =
        with_in(&with_in(&created, "faas", "cpu", Value::number(2.0)), "faas", "disk_size", Value::number(2048.0));
    let resized = with_in(&resized, "scheduling", "policy", Value::string("latency"));
    let updated = p
        .update(UpdateRequest { type_name: RUNTIME.into(), prior: created.clone(), planned: resized })
        .await
        .expect("update");
    p.import(RUNTIME, updated.get("id").and_then(Value::as_str).expect("id")).await.expect("import");
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: updated }).await.expect("delete");
    let failed = try_create(&p, runtime("spec-f", "FAILED_DEPLOY", None), "spec-2").await.expect_err("fails");
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: failed.partial.expect("partial") })
        .await
        .expect("rollback");
    let _ = try_create(&p, runtime("spec-d", "DenyVMTemplate", None), "spec-3").await.expect_err("denied");
    let api = env.api();
    api.oned.vms().await.expect("vmpool");
    api.oned.documents(100).await.expect("documentpool");
    let _ = api.oned.vm(999).await.expect("NO_EXISTS reads as None");
    let _ = api.oned.vm_recover(999, 2).await.expect_err("no such VM");

    // The state machines' other states: a VM powered off and on again (POWEROFF,
    // BOOT_POWEROFF), refused a second poweroff; a service in WARNING (its VM failed in PROLOG)
    // recovered by an update; then asynchronously undeployed.
    let other = create(&p, runtime("spec-w", "Function", None), "spec-4").await;
    let vm_id: u64 = text(&other, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    api.oned.vm_action("poweroff", vm_id).await.expect("poweroff");
    let mut off = false;
    for _ in 0..200 {
        off = api.oned.vm(vm_id).await.expect("info").expect("vm").state_text().starts_with("POWEROFF");
        if off {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(off, "the VM never reached POWEROFF");
    let _ = api.oned.vm_action("poweroff", vm_id).await.expect_err("not from POWEROFF");
    api.oned.vm_action("resume", vm_id).await.expect("resume");
    api.wait_vm_running(vm_id, "a resume").await.expect("RUNNING again");
    env.emulator.with_world(|w| {
        let vm = w.vms.iter_mut().find(|v| v.id == vm_id).expect("vm");
        (vm.lcm, vm.due) = (39, None);
    });
    let mut seen = read(&p, &other).await.expect("there");
    for _ in 0..200 {
        if s(&seen, "service_state") == "WARNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        seen = read(&p, &other).await.expect("there");
    }
    assert_eq!(s(&seen, "service_state"), "WARNING");
    let planned = with(&seen, "service_state", Value::string("RUNNING"));
    let repaired = p
        .update(UpdateRequest { type_name: RUNTIME.into(), prior: seen, planned })
        .await
        .unwrap_or_else(|e| panic!("recover: {}", e.message));
    // A fault switch: OneFlow answers one request with a 500, which a read retries.
    env.running.faults.fail_next(1, 500, serde_json::json!({"message": "Internal server error"}));
    assert!(api.flow.service(id_of(&repaired)).await.expect("retried").is_some());
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: repaired }).await.expect("undeploy");
    // Raw calls for the answers a client never provokes on purpose.
    let flow = env.flow_client();
    let _ = flow.delete("service/999").await.expect_err("404");
    let deploying = api.flow.instantiate(0, &serde_json::json!({"name": "raw"})).await.expect("instantiate");
    let id = deploying["ID"].as_str().expect("id").to_string();
    let _ = flow.delete(&format!("service/{id}")).await.expect_err("500 while deploying");
    let _ = flow.post("service_template/0/action", &serde_json::json!({"nothing": 1})).await.expect_err("400");
    api.flow.recover(id.parse().expect("id"), true).await.expect("recover delete");
    let anonymous = Client::builder(format!("{base}/")).max_attempts(1).build().expect("client");
    let _ = anonymous.get("service").await.expect_err("401");
    let bad = "<?xml version=\"1.0\"?><methodCall><methodName>one.vm.info</methodName><params><param><value><string>cognit:wrong</string></value></param><param><value><i4>0</i4></value></param></params></methodCall>";
    anonymous
        .request(Method::POST, &format!("{base}/RPC2"))
        .text(bad, "text/xml")
        .send()
        .await
        .expect("AUTHENTICATION envelope");
    let unknown = "<?xml version=\"1.0\"?><methodCall><methodName>one.nothing</methodName><params/></methodCall>";
    anonymous.request(Method::POST, &format!("{base}/RPC2")).text(unknown, "text/xml").send().await.expect("fault");

    let checked = recorded.check();
    let (seen_methods, flow_checked, rpc_checked, xml_checked) =
        (&checked.methods, checked.flow, checked.rpc, checked.xml);
    for m in [
        "one.vm.info",
        "one.vm.resize",
        "one.vm.diskresize",
        "one.vm.update",
        "one.vm.action",
        "one.vmpool.info",
        "one.template.info",
        "one.document.allocate",
        "one.document.info",
        "one.document.update",
        "one.document.delete",
        "one.documentpool.info",
    ] {
        assert!(seen_methods.contains(m), "{m} was never answered successfully: {seen_methods:?}");
    }
    assert!(flow_checked >= 20 && rpc_checked >= 30 && xml_checked >= 10, "{flow_checked} {rpc_checked} {xml_checked}");
}
