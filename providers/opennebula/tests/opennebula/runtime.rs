//! opennebula_serverless_runtime through the Provider trait against the emulator: every
//! operation and every failure the issue names.

use std::time::Duration;

use base64::Engine;
use tarn_provider_opennebula::TemplateRef;
use tarn_provider_opennebula::emulator::world::{attr, single};
use tarn_provider_opennebula::template::Attr;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, ErrorKind, PlanRequest, Provider, UpdateRequest, Value};

use crate::common::{Env, PASSWORD, RUNTIME, create, num, read, runtime, s, text, try_create, with, with_in};

async fn plan(
    p: &tarn_provider_opennebula::OpenNebulaProvider,
    proposed: Value,
) -> Result<Value, tarn_sdk::ProviderError> {
    p.plan(PlanRequest { type_name: RUNTIME.into(), prior: None, proposed }).await.map(|r| r.planned)
}

/// The plan of an update: the engine asks it with the (refreshed) prior object.
async fn plan_update(
    p: &tarn_provider_opennebula::OpenNebulaProvider,
    prior: &Value,
    proposed: Value,
) -> Result<tarn_sdk::PlanResponse, tarn_sdk::ProviderError> {
    p.plan(PlanRequest { type_name: RUNTIME.into(), prior: Some(prior.clone()), proposed }).await
}

async fn update(
    p: &tarn_provider_opennebula::OpenNebulaProvider,
    prior: &Value,
    planned: Value,
) -> Result<Value, tarn_sdk::ProviderError> {
    p.update(UpdateRequest { type_name: RUNTIME.into(), prior: prior.clone(), planned }).await
}

async fn delete(p: &tarn_provider_opennebula::OpenNebulaProvider, state: &Value) {
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("delete: {}", e.message));
}

fn id(v: &Value, key: &str) -> u64 {
    s(v, key).parse().unwrap_or_else(|_| panic!("{key} is not a number in {v:?}"))
}

#[tokio::test]
async fn plan_refuses_an_unknown_flavour_and_names_the_templates_there_are() {
    let env = Env::start().await;
    let p = env.provider();
    let err = plan(&p, runtime("r", "nature", None)).await.expect_err("unknown flavour");
    assert_eq!((err.class, err.kind), (ErrorClass::Permanent, Some(ErrorKind::Unknown)));
    assert!(err.message.contains("unknown flavour \"nature\""), "{}", err.message);
    assert!(err.message.contains("Function-Data") && err.message.contains("FAILED_DEPLOY"), "{}", err.message);
    let err = plan(&p, runtime("r", "Function", Some("Cache"))).await.expect_err("unknown tuple");
    assert!(err.message.contains("\"Function-Cache\""), "{}", err.message);
    let planned = plan(&p, runtime("r", "Function", Some("Data"))).await.expect("known tuple");
    assert_eq!(s(&planned, "service_template_id"), "1");
    assert!(planned.get("service_id").is_some_and(Value::is_unknown), "only what plan can know is filled");
}

#[tokio::test]
async fn plan_and_create_follow_the_flavours_mapping_of_engine_conf() {
    let env = Env::start().await;
    let mut settings = env.settings();
    settings.flavours.insert("nature".into(), TemplateRef::Id(0));
    settings.flavours.insert("nature-s3".into(), TemplateRef::Name("Function-Data".into()));
    settings.flavours.insert("broken".into(), TemplateRef::Id(42));
    let p = env.provider_with(settings);
    assert_eq!(s(&plan(&p, runtime("r", "nature", None)).await.expect("mapped"), "service_template_id"), "0");
    let both = plan(&p, runtime("r", "nature", Some("s3"))).await.expect("mapped by name");
    assert_eq!(s(&both, "service_template_id"), "1");
    let err = plan(&p, runtime("r", "broken", None)).await.expect_err("mapped to nothing");
    assert!(err.message.contains("flavours mapping sends \"broken\""), "{}", err.message);
    let created = create(&p, runtime("mapped", "nature", Some("s3")), "c-map").await;
    assert!(created.get("functions").and_then(|f| f.get("daas")).is_some(), "{created:?}");
    delete(&p, &created).await;
}

#[tokio::test]
async fn create_waits_for_running_and_the_vm_gets_what_the_original_engine_gives_it() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("device-1", "Function", None), "c-1").await;
    assert_eq!(s(&created, "service_state"), "RUNNING");
    assert_eq!(text(&created, &["functions", "faas", "state"]), "RUNNING");
    assert_eq!(text(&created, &["functions", "faas", "vm_state"]), "ACTIVE/RUNNING");
    let endpoint = s(&created, "endpoint");
    assert!(endpoint.starts_with("10.0."), "{endpoint}");
    assert_eq!(text(&created, &["functions", "faas", "endpoint"]), endpoint);
    assert_eq!(s(&created, "service_template_id"), "0");

    let api = env.api();
    let vm_id: u64 = text(&created, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    let vm = api.oned.vm(vm_id).await.expect("vm.info").expect("the VM exists");
    assert_eq!((vm.vcpu, vm.cpu, vm.memory), (1, 1.0, 512));
    assert_eq!((vm.vcpu_max, vm.memory_max), (2, 1024), "max = size x capacity multiplier");
    assert_eq!(vm.disk_size, 1024, "capacity.disk_default when disk_size is left out");
    assert_eq!(vm.user("FLAVOURS"), Some("0"));
    assert_eq!(vm.user("SCHED_REQUIREMENTS"), Some("FREECPU > 10"));
    assert_eq!(vm.user("SCHED_RANK"), Some("ENERGY"));
    let (template, user) = env.emulator.with_world(|w| {
        let vm = w.vms.iter().find(|v| v.id == vm_id).expect("vm");
        (vm.template.clone(), vm.user.clone())
    });
    let Some(Attr::Vector(_, context)) = attr(&template, "CONTEXT") else { panic!("no CONTEXT: {template:?}") };
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("cognit:{PASSWORD}"));
    assert!(context.contains(&("SR_AUTH".into(), auth)), "{context:?}");
    assert!(context.contains(&("NETWORK".into(), "YES".into())), "the template's context is kept: {context:?}");
    let Some(Attr::Vector(_, device)) = attr(&user, "DEVICE_INFO") else { panic!("no DEVICE_INFO: {user:?}") };
    assert!(device.contains(&("LATENCY_TO_PE".into(), "100".into())), "{device:?}");
    assert!(device.contains(&("GEOGRAPHIC_LOCATION".into(), "Madrid".into())), "{device:?}");
    assert_eq!(single(&template, "MEMORY_RESIZE_MODE").as_deref(), Some("BALLOONING"));
    assert!(attr(&user, "HOT_RESIZE").is_some(), "{user:?}");

    let doc = api.oned.document(id(&created, "id")).await.expect("document.info").expect("document");
    assert_eq!((doc.doc_type.as_str(), doc.name.as_str()), ("1337", "device-1"));
    let body: serde_json::Value = serde_json::from_str(doc.body.as_deref().expect("body")).expect("json body");
    assert_eq!(body["SERVICE_ID"], id(&created, "service_id"));
    assert_eq!(body["FAAS"]["FLAVOUR"], "Function");
    assert_eq!(body["FAAS"]["STATE"], "RUNNING");
    assert_eq!(body["SCHEDULING"]["POLICY"], "energy");
    assert_eq!(body["DEVICE_INFO"]["GEOGRAPHIC_LOCATION"], "Madrid");
    assert_eq!(read(&p, &created).await.as_ref(), Some(&created), "a fresh read shows no drift");
    delete(&p, &created).await;
}

#[tokio::test]
async fn function_data_runs_a_vm_per_role() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("both", "Function", Some("Data")), "c-2").await;
    assert_eq!(s(&created, "service_template_id"), "1");
    for f in ["faas", "daas"] {
        assert_eq!(text(&created, &["functions", f, "state"]), "RUNNING", "{f}");
    }
    assert_ne!(text(&created, &["functions", "faas", "vm_id"]), text(&created, &["functions", "daas", "vm_id"]));
    delete(&p, &created).await;
}

#[tokio::test]
async fn failed_deploy_is_a_failed_create_and_the_rollback_delete_removes_it() {
    let env = Env::start().await;
    let p = env.provider();
    let err = try_create(&p, runtime("doomed", "FAILED_DEPLOY", None), "c-3").await.expect_err("FAILED_DEPLOY");
    assert_eq!(err.class, ErrorClass::PartiallyCreated, "{}", err.message);
    assert_eq!(err.kind, Some(ErrorKind::Failed), "{}", err.message);
    assert!(err.message.contains("FAILED_DEPLOYING"), "{}", err.message);
    let partial = err.partial.expect("the service's state, for the engine to record and roll back");
    let sid = id(&partial, "service_id");
    assert!(env.api().flow.service(sid).await.expect("get").is_some(), "the failed service is there until rollback");
    delete(&p, &partial).await;
    assert!(env.api().flow.service(sid).await.expect("get").is_none(), "rollback removed the service");
    let alive = env.emulator.with_world(|w| w.vms.iter().filter(|v| v.state != 6).count());
    assert_eq!(alive, 0, "no VM is left behind");
}

#[tokio::test]
async fn a_vm_template_the_caller_may_not_use_fails_the_create_before_anything_is_made() {
    let env = Env::start().await;
    let p = env.provider();
    let err = try_create(&p, runtime("denied", "DenyVMTemplate", None), "c-4").await.expect_err("denied");
    assert_eq!((err.class, err.kind), (ErrorClass::Permanent, Some(ErrorKind::Denied)), "{}", err.message);
    assert!(err.message.contains("Not authorized to perform USE TEMPLATE"), "{}", err.message);
    assert!(env.api().flow.services().await.expect("services").is_empty(), "no service was instantiated");
}

#[tokio::test]
async fn a_deploy_slower_than_the_timeout_fails_and_its_rollback_removes_it() {
    let env = Env::with_step(Duration::from_millis(400)).await;
    let mut settings = env.settings();
    settings.timeout = Duration::from_millis(300);
    let p = env.provider_with(settings);
    let err = try_create(&p, runtime("slow", "Function", None), "c-5").await.expect_err("time-out");
    assert_eq!(err.class, ErrorClass::PartiallyCreated, "{}", err.message);
    assert_eq!(err.kind, Some(ErrorKind::TimedOut), "{}", err.message);
    assert!(err.message.contains("timeout"), "{}", err.message);
    let partial = err.partial.expect("partial state");
    // Still deploying: DELETE is refused, so the service is removed with recover + delete.
    delete(&p, &partial).await;
    assert!(env.api().flow.services().await.expect("services").is_empty());
}

#[tokio::test]
async fn resize_in_place_within_the_capacity_limits_and_refuse_beyond_them() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("grow", "Function", None), "c-6").await;
    let bigger = with_in(
        &with_in(&with_in(&created, "faas", "cpu", Value::number(2.0)), "faas", "memory", Value::number(1024.0)),
        "faas",
        "disk_size",
        Value::number(2048.0),
    );
    let planned = plan_update(&p, &created, bigger.clone()).await.unwrap_or_else(|e| panic!("plan: {}", e.message));
    assert!(planned.requires_replace.is_empty(), "a new size is no replacement");
    assert!(planned.planned.get("functions").is_some_and(Value::is_unknown), "sizes are read back after apply");
    assert_eq!(s(&planned.planned, "service_id"), s(&created, "service_id"));
    let updated = update(&p, &created, bigger).await.unwrap_or_else(|e| panic!("resize: {}", e.message));
    assert_eq!(s(&updated, "service_id"), s(&created, "service_id"), "in place");
    assert_eq!(num(&updated, &["functions", "faas", "cpu"]), 2.0);
    assert_eq!(num(&updated, &["functions", "faas", "memory"]), 1024.0);
    assert_eq!(num(&updated, &["functions", "faas", "disk_size"]), 2048.0);
    let vm_id: u64 = text(&updated, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    let vm = env.api().oned.vm(vm_id).await.expect("info").expect("vm");
    assert_eq!((vm.vcpu, vm.cpu, vm.memory, vm.disk_size), (2, 2.0, 1024, 2048));
    assert_eq!(vm.function_state(), "RUNNING");

    let too_big = with_in(&updated, "faas", "cpu", Value::number(3.0));
    let err = plan_update(&p, &updated, too_big.clone()).await.expect_err("beyond VCPU_MAX, at plan");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("faas of this runtime"), "{}", err.message);
    assert!(err.message.contains("can grow in place to 2 CPUs"), "{}", err.message);
    let more_memory = with_in(&updated, "faas", "memory", Value::number(4096.0));
    let err = plan_update(&p, &updated, more_memory).await.expect_err("beyond MEMORY_MAX, at plan");
    assert!(err.message.contains("4096 MB need a new runtime"), "{}", err.message);
    let err = update(&p, &updated, too_big).await.expect_err("beyond VCPU_MAX");
    assert!(err.message.contains("can grow in place to 2 CPUs"), "{}", err.message);
    let smaller_disk = with_in(&updated, "faas", "disk_size", Value::number(1024.0));
    let err = plan_update(&p, &updated, smaller_disk.clone()).await.expect_err("disks only grow, at plan");
    assert!(err.message.contains("only grows disks"), "{}", err.message);
    let err = update(&p, &updated, smaller_disk).await.expect_err("disks only grow");
    assert!(err.message.contains("only grows disks"), "{}", err.message);
    let vm = env.api().oned.vm(vm_id).await.expect("info").expect("vm");
    assert_eq!((vm.vcpu, vm.disk_size), (2, 2048), "a refused resize changes nothing");
    delete(&p, &updated).await;
}

#[tokio::test]
async fn new_flavours_are_a_replacement_and_an_unknown_one_fails_the_plan_of_an_existing_runtime() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("swap", "Function", None), "c-7").await;
    let daas = runtime("x", "Function", Some("Data")).get("daas").cloned().expect("daas");
    let with_data = with(&created, "daas", daas);
    let planned = plan_update(&p, &created, with_data.clone()).await.unwrap_or_else(|e| panic!("plan: {}", e.message));
    assert_eq!(planned.requires_replace, ["daas"], "Function-Data is another service template");
    let other = with_in(&created, "faas", "flavour", Value::string("FAILED_DEPLOY"));
    let planned = plan_update(&p, &created, other).await.unwrap_or_else(|e| panic!("plan: {}", e.message));
    assert_eq!(planned.requires_replace, ["faas"]);
    let unknown = with_in(&created, "faas", "flavour", Value::string("nature"));
    let err = plan_update(&p, &created, unknown).await.expect_err("unknown flavour on an existing runtime");
    assert!(err.message.contains("unknown flavour \"nature\""), "{}", err.message);
    let same = plan_update(&p, &created, created.clone()).await.expect("unchanged");
    assert!(same.requires_replace.is_empty());
    let err = update(&p, &created, with_data).await.expect_err("never an update");
    assert!(err.message.contains("bug in tarn"), "{}", err.message);
    assert_eq!(read(&p, &created).await.map(|r| s(&r, "service_state")).as_deref(), Some("RUNNING"), "untouched");
    delete(&p, &created).await;
}

#[tokio::test]
async fn scheduling_and_name_changes_update_the_vms_and_the_document() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("sched", "Function", None), "c-8").await;
    let wanted = with(
        &with_in(&created, "scheduling", "requirements", Value::string("HYPERVISOR = kvm")),
        "name",
        Value::string("sched-2"),
    );
    let updated = update(&p, &created, wanted).await.unwrap_or_else(|e| panic!("update: {}", e.message));
    let vm_id: u64 = text(&updated, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    let vm = env.api().oned.vm(vm_id).await.expect("info").expect("vm");
    assert_eq!(vm.user("SCHED_REQUIREMENTS"), Some("HYPERVISOR = KVM"), "upper-cased as the original");
    assert_eq!(env.emulator.with_world(|w| w.vms.iter().find(|v| v.id == vm_id).map(|v| v.resched)), Some(1));
    let doc = env.api().oned.document(id(&created, "id")).await.expect("info").expect("doc");
    assert_eq!(doc.name, "sched-2");
    delete(&p, &updated).await;
}

#[tokio::test]
async fn delete_waits_until_the_service_is_gone_and_removes_the_document() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("bye", "Function", None), "c-9").await;
    delete(&p, &created).await;
    let api = env.api();
    assert!(api.flow.service(id(&created, "service_id")).await.expect("get").is_none());
    assert!(api.oned.document(id(&created, "id")).await.expect("info").is_none());
    assert_eq!(read(&p, &created).await, None, "gone reads as None");
    delete(&p, &created).await;
}

#[tokio::test]
async fn drift_a_resize_outside_tarn_a_vm_gone_and_a_service_not_running() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("drift", "Function", None), "c-10").await;
    let vm_id: u64 = text(&created, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    env.emulator.with_world(|w| {
        let vm = w.vms.iter_mut().find(|v| v.id == vm_id).expect("vm");
        tarn_provider_opennebula::emulator::world::set(&mut vm.template, Attr::Single("VCPU".into(), "2".into()));
    });
    let seen = read(&p, &created).await.expect("still there");
    assert_eq!(num(&seen, &["faas", "cpu"]), 2.0, "the resize outside tarn shows in faas.cpu");
    assert_eq!(num(&seen, &["functions", "faas", "cpu"]), 2.0);
    env.api().oned.vm_action("terminate-hard", vm_id).await.expect("terminate");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = read(&p, &created).await.expect("the service is still there");
    assert_eq!(text(&seen, &["functions", "faas", "state"]), "GONE");
    assert_eq!(s(&seen, "service_state"), "WARNING", "a service not RUNNING is drift");
    delete(&p, &seen).await;
}

/// A VM powered off outside tarn (POWEROFF: its function PENDING) cannot be resized: the update
/// fails as not ready and changes nothing; powered on again, the same update resizes it.
#[tokio::test]
async fn a_resize_waits_for_a_vm_that_is_not_running() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("off", "Function", None), "c-13").await;
    let vm_id: u64 = text(&created, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    let api = env.api();
    api.oned.vm_action("poweroff", vm_id).await.expect("poweroff");
    let mut vm = api.oned.vm(vm_id).await.expect("info").expect("vm");
    for _ in 0..100 {
        if vm.state_text().starts_with("POWEROFF") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        vm = api.oned.vm(vm_id).await.expect("info").expect("vm");
    }
    assert!(vm.state_text().starts_with("POWEROFF"), "{}", vm.state_text());
    assert_eq!(vm.function_state(), "PENDING");
    let seen = read(&p, &created).await.expect("there");
    assert_eq!(text(&seen, &["functions", "faas", "state"]), "PENDING");
    let bigger = with_in(&seen, "faas", "cpu", Value::number(2));
    let err = update(&p, &seen, bigger.clone()).await.expect_err("not RUNNING");
    assert_eq!((err.class, err.kind), (ErrorClass::Conflict, Some(ErrorKind::NotReady)), "{}", err.message);
    assert!(err.message.contains("not RUNNING"), "{}", err.message);
    assert_eq!(api.oned.vm(vm_id).await.expect("info").expect("vm").vcpu, 1, "nothing changed");
    let err = api.oned.vm_action("poweroff", vm_id).await.expect_err("already off");
    assert!(err.message.contains("not available for state POWEROFF"), "{}", err.message);
    api.oned.vm_action("resume", vm_id).await.expect("resume");
    api.wait_vm_running(vm_id, "a resume").await.expect("RUNNING again");
    let updated = update(&p, &seen, bigger).await.unwrap_or_else(|e| panic!("resize: {}", e.message));
    assert_eq!(num(&updated, &["functions", "faas", "cpu"]), 2.0);
    delete(&p, &updated).await;
}

/// A service in WARNING (its VM failed in PROLOG, outside tarn) is drift the plan repairs in
/// place: the update recovers it, and the same service and VM are RUNNING again. A VM gone is
/// a replacement.
#[tokio::test]
async fn a_service_not_running_is_recovered_by_the_update_and_a_vm_gone_is_a_replacement() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("warn", "Function", None), "c-14").await;
    let vm_id: u64 = text(&created, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    env.emulator.with_world(|w| {
        let vm = w.vms.iter_mut().find(|v| v.id == vm_id).expect("vm");
        (vm.lcm, vm.due) = (39, None);
    });
    let seen = read(&p, &created).await.expect("there");
    assert_eq!(s(&seen, "service_state"), "WARNING");
    assert_eq!(text(&seen, &["functions", "faas", "state"]), "ERROR");
    // What the engine proposes: the service kept at RUNNING (the schema's kept_at).
    let proposed = with(&seen, "service_state", Value::string("RUNNING"));
    let planned = plan_update(&p, &seen, proposed.clone()).await.unwrap_or_else(|e| panic!("plan: {}", e.message));
    assert!(planned.requires_replace.is_empty(), "recovered in place: {:?}", planned.requires_replace);
    assert!(planned.planned.get("functions").is_some_and(Value::is_unknown));
    let repaired = update(&p, &seen, proposed).await.unwrap_or_else(|e| panic!("recover: {}", e.message));
    assert_eq!(s(&repaired, "service_state"), "RUNNING");
    assert_eq!(s(&repaired, "service_id"), s(&created, "service_id"), "the same service");
    assert_eq!(text(&repaired, &["functions", "faas", "state"]), "RUNNING");

    env.api().oned.vm_action("terminate-hard", vm_id).await.expect("terminate");
    let gone = wait_read(&p, &repaired, |v| s(v, "service_state") == "WARNING").await;
    assert_eq!(text(&gone, &["functions", "faas", "state"]), "GONE");
    let proposed = with(&gone, "service_state", Value::string("RUNNING"));
    let planned = plan_update(&p, &gone, proposed).await.unwrap_or_else(|e| panic!("plan: {}", e.message));
    assert_eq!(planned.requires_replace, vec!["service_state".to_string()], "a VM gone needs a new service");
    delete(&p, &gone).await;
}

/// Reads `state` until `done` holds (the emulator moves over time).
async fn wait_read(
    p: &tarn_provider_opennebula::OpenNebulaProvider,
    state: &Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..100 {
        let seen = read(p, state).await.expect("there");
        if done(&seen) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached the awaited state")
}

#[tokio::test]
async fn adopt_finds_the_service_of_an_interrupted_create() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = runtime("crash", "Function", None);
    let created = create(&p, planned.clone(), "corr-11").await;
    // As if tarn had died after instantiating: the document is gone too.
    env.api().oned.document_delete(id(&created, "id")).await.expect("drop the document");
    let adopted = p
        .adopt(AdoptRequest { type_name: RUNTIME.into(), correlation: "corr-11".into(), planned: planned.clone() })
        .await
        .expect("adopt")
        .expect("found");
    assert_eq!(s(&adopted, "service_id"), s(&created, "service_id"));
    assert!(env.api().oned.document(id(&adopted, "id")).await.expect("info").is_some(), "the document is made again");
    let none =
        p.adopt(AdoptRequest { type_name: RUNTIME.into(), correlation: "other".into(), planned }).await.expect("adopt");
    assert!(none.is_none());
    delete(&p, &adopted).await;
}

#[tokio::test]
async fn import_takes_the_runtime_id_and_refuses_other_documents() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, runtime("imported", "Function", None), "c-12").await;
    let found = p.import(RUNTIME, &s(&created, "id")).await.expect("import").expect("found");
    assert_eq!(s(&found, "service_id"), s(&created, "service_id"));
    assert_eq!(s(&found, "name"), "imported");
    assert_eq!(text(&found, &["faas", "flavour"]), "Function");
    assert_eq!(s(&found, "service_template_id"), "0");
    let err = p.import(RUNTIME, &s(&created, "service_id")).await.expect_err("a service document");
    assert!(err.message.contains("not a serverless runtime"), "{}", err.message);
    assert!(p.import(RUNTIME, "9999").await.expect("import").is_none());
    delete(&p, &created).await;
}
