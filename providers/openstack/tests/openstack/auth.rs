//! Keystone and the transport: the token renewed before it expires and once after a 401,
//! refused credentials, the catalog's regions, the microversion headers, Nova's faults mapped to
//! classes, and `limit`/`marker` pages.

use std::time::Duration;

use serde_json::json;
use tarn_provider_openstack::{INSTANCE, Project};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::{ErrorClass, Provider, ReadRequest, Value};

use crate::common::{Env, PASSWORD, REGION, create, s, server, settings};

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_nova_refuses_it() {
    let env = Env::start().await;
    // Tokens of 1.2 s: tarn renews when less than a quarter of the lifetime is left.
    env.emulator.set_token_lifetime(Duration::from_millis(1200));
    let p = env.provider();
    let vm = create(&p, INSTANCE, server("dev-renew"), "tarn-a1").await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let read = p.read(ReadRequest { type_name: INSTANCE.into(), state: vm.clone() }).await;
        assert!(read.expect("every call succeeds").is_some());
    }
    assert!(env.emulator.tokens_issued() >= 2, "renewed: {} tokens", env.emulator.tokens_issued());
    assert_eq!(env.emulator.tokens_refused(), 0, "renewed before expiry, so Nova never refused one");
}

#[tokio::test]
async fn a_token_refused_with_401_is_renewed_once_and_the_call_retried() {
    let env = Env::start().await;
    let p = env.provider();
    let vm = create(&p, INSTANCE, server("dev-401"), "tarn-a2").await;
    assert_eq!(env.emulator.tokens_issued(), 1, "one token for the whole create");
    env.emulator.expire_tokens();
    let read = p.read(ReadRequest { type_name: INSTANCE.into(), state: vm.clone() }).await.expect("read");
    assert_eq!(read.as_ref().map(|r| s(r, "id")), Some(s(&vm, "id")));
    assert_eq!(env.emulator.tokens_refused(), 1, "one 401");
    assert_eq!(env.emulator.tokens_issued(), 2, "one new token");

    // The same through the HTTP switch an outside tool would use.
    let admin = Client::builder(env.origin()).max_attempts(1).build().expect("client");
    let answer = admin.post("__sim/tokens", &json!({"expire_all": true})).await.expect("switch");
    assert_eq!(answer["issued"], 2);
    p.read(ReadRequest { type_name: INSTANCE.into(), state: vm }).await.expect("read after the switch");
    assert_eq!(env.emulator.tokens_issued(), 3);
}

#[tokio::test]
async fn refused_credentials_are_one_clear_error_without_the_password() {
    let env = Env::start().await;
    let mut wrong = env.creds();
    wrong.password = "not-the-password".into();
    let err = env.api_with(wrong).servers(&[]).await.expect_err("refused");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("Keystone refused the credentials of user user-ovh-7Gq"), "{}", err.message);
    assert!(
        err.message.contains("Unauthorized: The request you have made requires authentication."),
        "{}",
        err.message
    );
    assert!(!err.message.contains("not-the-password"), "{}", err.message);

    // A project by name, in the Default domain, is accepted.
    let mut by_name = env.creds();
    by_name.project = Project::Name { name: settings().project_name, domain: "Default".into() };
    assert!(env.api_with(by_name).servers(&[]).await.expect("by name").is_empty());

    let mut elsewhere = env.creds();
    elsewhere.region = Some("WAW1".into());
    let err = env.api_with(elsewhere).servers(&[]).await.expect_err("no such region");
    assert!(err.message.contains("\"WAW1\"") && err.message.contains("BHS5, GRA11, SBG5"), "{}", err.message);
    let mut unset = env.creds();
    unset.region = None;
    let err = env.api_with(unset).servers(&[]).await.expect_err("ambiguous");
    assert!(err.message.contains("OS_REGION_NAME"), "{}", err.message);

    let mut lost = env.creds();
    lost.auth_url = format!("{}/v2.0", env.origin());
    let err = env.api_with(lost).servers(&[]).await.expect_err("not Keystone v3");
    assert!(err.message.contains("auth.cloud.ovh.net/v3"), "{}", err.message);
}

#[tokio::test]
async fn the_provider_reads_the_os_environment_and_ovh_defaults() {
    let env = Env::start().await;
    let config = Value::map([
        ("auth_url", Value::string(env.auth_url())),
        ("user_name", Value::string(crate::common::USER)),
        ("password", Value::string(PASSWORD).sensitive()),
        ("project_id", Value::string(crate::common::PROJECT_ID)),
        ("region", Value::string(REGION)),
    ]);
    let creds = tarn_provider_openstack::credentials(&config).expect("credentials");
    assert_eq!(creds.user_domain, "Default", "OVH's default domain");
    assert!(!format!("{creds:?}").contains(PASSWORD), "Debug hides the password");
    let p = tarn_provider_openstack::OpenStackProvider::default();
    p.configure(config).await.expect("configure");
    let data = p
        .read_data(tarn_sdk::ReadDataRequest {
            type_name: tarn_provider_openstack::FLAVORS.into(),
            config: Value::map([("name", Value::string("d2-2"))]),
        })
        .await
        .expect("a configured provider authenticates on first use");
    assert!(data.get("ids").is_some());
    let err = tarn_provider_openstack::credentials(&Value::map([("user_name", Value::string("u"))]));
    let message = err.map(|_| ()).expect_err("no password").message;
    assert!(message.contains("OS_PASSWORD") || message.contains("OS_PROJECT_ID"), "{message}");
    assert_eq!(tarn_provider_openstack::OVH_AUTH_URL, "https://auth.cloud.ovh.net/v3");
}

#[tokio::test]
async fn microversion_headers_faults_and_pages() {
    let env = Env::start().await;
    let api = env.api().page_size(2);
    let p = tarn_provider_openstack::OpenStackProvider::with_api(api.clone());
    for i in 0..5 {
        create(&p, INSTANCE, server(&format!("dev-page-{i}")), &format!("tarn-p{i}")).await;
    }
    let before = env.emulator.faults().requests();
    let all = api.servers(&[]).await.expect("list");
    assert_eq!(all.len(), 5);
    assert_eq!(env.emulator.faults().requests() - before, 3, "pages of 2, 2 and 1");

    // Raw calls with a token of our own: headers and fault bodies.
    let token_answer = Client::builder(env.auth_url())
        .build()
        .expect("client")
        .request(Method::POST, "auth/tokens")
        .json(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": crate::common::USER,
            "domain": {"name": "Default"}, "password": PASSWORD}}}, "scope": {"project": {"id": crate::common::PROJECT_ID}}}}))
        .sensitive()
        .send()
        .await
        .expect("token");
    assert_eq!(token_answer.status.as_u16(), 201);
    let token = token_answer.headers.get("x-subject-token").and_then(|v| v.to_str().ok()).expect("header").to_string();
    let nova = |version: Option<&str>| {
        let mut b = Client::builder(format!("{}/compute/v2.1", env.origin()))
            .secret_header("x-auth-token", &token)
            .max_attempts(1);
        if let Some(v) = version {
            b = b.header("openstack-api-version", v);
        }
        b.build().expect("client")
    };
    let answer = nova(Some("compute 2.1")).request(Method::GET, "flavors").send().await.expect("flavors");
    let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("openstack-api-version"), "compute 2.1");
    assert_eq!(header("x-openstack-nova-api-version"), "2.1");
    assert!(header("vary").contains("OpenStack-API-Version"));
    assert!(header("x-openstack-request-id").starts_with("req-"));
    let err = nova(Some("compute 2.90")).get("flavors").await.expect_err("unsupported microversion");
    assert!(
        err.message.contains("HTTP 406") && err.message.contains("Version 2.90 is not supported"),
        "{}",
        err.message
    );

    let err = nova(None).get("servers/9168b536-cd40-4630-b43f-b259807c6e87").await.expect_err("missing");
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(
        err.message.contains("itemNotFound: Instance 9168b536-cd40-4630-b43f-b259807c6e87 could not be found."),
        "{}",
        err.message
    );
    let first = &all[0]["id"].as_str().expect("id").to_string();
    let err = api.action(first, &json!({"os-start": null})).await.expect_err("already running");
    assert_eq!(err.class, ErrorClass::Conflict);
    assert!(
        err.message.contains("conflictingRequest: Cannot 'start' instance") && err.message.contains("vm_state active"),
        "{}",
        err.message
    );
    let err = nova(None).get("servers/detail?marker=nope").await.expect_err("unknown marker");
    assert!(err.message.contains("HTTP 400") && err.message.contains("marker [nope] not found"), "{}", err.message);

    // Injected server errors are retried; a lasting one is a transient error with Nova's body.
    env.emulator.faults().fail_next(1, 503, tarn_provider_openstack::emulator::nova_body(503, "busy"));
    assert_eq!(api.servers(&[]).await.expect("retried").len(), 5);
    env.emulator.faults().fail_next(10, 500, tarn_provider_openstack::emulator::nova_body(500, "broken"));
    let err = api.servers(&[]).await.expect_err("lasting");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("computeFault: broken"), "{}", err.message);
    env.emulator.faults().clear();
}
