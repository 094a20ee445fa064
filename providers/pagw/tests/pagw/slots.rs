//! The slot database: loading, the one-transaction claim with its toolbox, concurrent claims
//! from separate providers (as from two machines), the default singleton, and release.

use tarn_sdk::Value;

use crate::support::*;

fn num(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("{key} in {v:?}")) as i64
}

#[tokio::test]
async fn a_definition_loads_one_slot_per_address_with_the_vlan_counted_up_and_no_password() {
    let g = giif().await;
    let p = configured(&g).await;
    let range = load_slots(&p, "127.0.100.10", "127.0.100.12").await;
    assert_eq!(range.get("slot_ids").and_then(Value::as_list).map(<[Value]>::len), Some(3));
    let rows = g.sql("SELECT ip, environment FROM pagw_slots ORDER BY id");
    assert!(!rows.contains("must-not-be-stored") && !rows.contains("PAGW_PASSWORD"), "{rows}");
    for (ip, vlan) in [("127.0.100.10", 13), ("127.0.100.11", 14), ("127.0.100.12", 15)] {
        let line = rows.lines().find(|l| l.starts_with(ip)).unwrap_or_else(|| panic!("{ip} in {rows}"));
        assert!(line.contains(&format!("PAGW_MGMT_VLAN=\"{vlan}\"")), "{line}");
    }
}

#[tokio::test]
async fn concurrent_claims_from_separate_providers_never_double_allocate() {
    let g = giif().await;
    let loader = configured(&g).await;
    load_slots(&loader, "127.0.100.20", "127.0.100.24").await;
    // Eight projects, five slots, each apply with its own provider and connection pool (two
    // machines look the same to the database).
    let mut tasks = Vec::new();
    for n in 0..8 {
        let p = configured(&g).await;
        let planned = plan(&p, "pagw_instance", instance(&format!("proj{n}"), "pw")).await.unwrap();
        tasks.push(tokio::spawn(async move {
            p.create(tarn_sdk::CreateRequest {
                type_name: "pagw_instance".into(),
                planned,
                correlation: format!("c{n}"),
            })
            .await
        }));
    }
    let mut slots = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => slots.push(num(&v, "slot_id")),
            Err(e) => {
                assert!(e.message.contains("no free PAGW slot"), "{}", e.message);
                refused += 1;
            }
        }
    }
    slots.sort();
    let before = slots.len();
    slots.dedup();
    assert_eq!((before, slots.len(), refused), (5, 5, 3), "{slots:?}");
    let rows = g.sql("SELECT COUNT(*), COUNT(DISTINCT pagw_slots_id) FROM pagw_instances");
    assert_eq!(rows.trim(), "5\t5");
    // The projects that got no slot left nothing behind.
    let groups = g.sql(&format!(
        "SELECT COUNT(*) FROM guacamole_connection_group c JOIN guacamole_connection_group r \
         ON r.connection_group_id = c.parent_id WHERE r.connection_group_name = '{ROOF}' AND r.parent_id IS NULL"
    ));
    assert_eq!(groups.trim(), "5");
    // And a plan now says so before anything runs.
    let e = plan(&loader, "pagw_instance", instance("late", "pw")).await.unwrap_err();
    assert!(e.contains("no free PAGW slot"), "{e}");
}

#[tokio::test]
async fn the_claim_makes_the_project_group_and_its_toolbox() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.30", "127.0.100.30").await;
    let v = create(&p, "pagw_instance", instance("alpha", "secret-pw")).await.unwrap();
    assert_eq!(v.get("address").and_then(Value::as_str), Some("127.0.100.30"));
    assert_eq!(v.get("vm_name").and_then(Value::as_str), Some("PAGW-alpha"));
    assert_eq!(v.get("toolbox").and_then(Value::as_str), Some("complete"));
    let group = num(&v, "connection_group_id");
    let parent = g.sql(&format!(
        "SELECT r.connection_group_name FROM guacamole_connection_group c \
         JOIN guacamole_connection_group r ON r.connection_group_id = c.parent_id WHERE c.connection_group_id = {group}"
    ));
    assert_eq!(parent.trim(), ROOF);
    let children = g.sql(&format!(
        "SELECT connection_group_name FROM guacamole_connection_group WHERE parent_id = {group} ORDER BY 1"
    ));
    assert_eq!(children.trim(), "Project Toolbox\nResources");
    let conns = g.sql(&format!(
        "SELECT c.connection_name, c.protocol, c.proxy_hostname, c.proxy_port, \
           (SELECT parameter_value FROM guacamole_connection_parameter WHERE connection_id = c.connection_id AND parameter_name = 'username'), \
           (SELECT parameter_value FROM guacamole_connection_parameter WHERE connection_id = c.connection_id AND parameter_name = 'hostname'), \
           (SELECT parameter_value FROM guacamole_connection_parameter WHERE connection_id = c.connection_id AND parameter_name = 'port'), \
           (SELECT LEFT(parameter_value, 35) FROM guacamole_connection_parameter WHERE connection_id = c.connection_id AND parameter_name = 'private-key') \
         FROM guacamole_connection c JOIN guacamole_connection_group t ON t.connection_group_id = c.parent_id \
         WHERE t.parent_id = {group} AND t.connection_group_name = 'Project Toolbox' ORDER BY 1"
    ));
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----";
    assert_eq!(
        conns.trim(),
        format!(
            "ARP Scan\tssh\tguacd\t4822\tarpscan\t127.0.100.30\t22\t{key}\n\
             PPTP VPN\tssh\tguacd\t4822\tpptp\t127.0.100.30\t22\t{key}\n\
             Wireguard VPN\tssh\tguacd\t4822\twireguard\t127.0.100.30\t22\t{key}"
        )
    );
    // The password is nowhere in the database.
    let dump = g
        .sql("SELECT environment FROM pagw_slots UNION ALL SELECT parameter_value FROM guacamole_connection_parameter");
    assert!(!dump.contains("secret-pw"));
}

#[tokio::test]
async fn the_default_project_uses_and_keeps_the_singleton_and_its_destroy_clears_it() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.40", "127.0.100.42").await;
    let mut cfg = instance("Default", "");
    if let Value::Map(o) = &mut cfg {
        o.insert("default".into(), Value::Bool(true));
    }
    let v = create(&p, "pagw_instance", cfg.clone()).await.unwrap();
    assert_eq!(v.get("account").and_then(Value::as_str), Some("locked"));
    let slot = num(&v, "slot_id");
    assert_eq!(g.sql("SELECT id FROM pagw_default_slot").trim(), slot.to_string());
    // A normal project never takes the default slot.
    let other = create(&p, "pagw_instance", instance("other", "pw")).await.unwrap();
    assert_ne!(num(&other, "slot_id"), slot);
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_default_slot").trim(), "0");
    assert_eq!(g.sql(&format!("SELECT COUNT(*) FROM pagw_instances WHERE pagw_slots_id = {slot}")).trim(), "0");
}

#[tokio::test]
async fn a_default_project_prepared_by_giif_is_kept_not_claimed_again() {
    let g = giif().await;
    let p = configured(&g).await;
    let range = load_slots(&p, "127.0.100.50", "127.0.100.51").await;
    let first = range.get("slot_ids").and_then(Value::as_list).unwrap()[0].as_f64().unwrap() as i64;
    // What Giif's prepare_default does for the first slot loaded.
    g.sql(&format!(
        "START TRANSACTION; INSERT INTO pagw_default_slot (id) VALUES ({first}); \
         INSERT INTO guacamole_connection_group (parent_id, connection_group_name) \
           SELECT connection_group_id, 'Default' FROM guacamole_connection_group WHERE connection_group_name = '{ROOF}' AND parent_id IS NULL; \
         INSERT INTO pagw_instances (pagw_slots_id, connection_group_id) SELECT {first}, LAST_INSERT_ID(); COMMIT;"
    ));
    let mut cfg = instance("Default", "pw");
    if let Value::Map(o) = &mut cfg {
        o.insert("default".into(), Value::Bool(true));
    }
    let v = create(&p, "pagw_instance", cfg).await.unwrap();
    assert_eq!(num(&v, "slot_id"), first);
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "1");
    assert_eq!(v.get("toolbox").and_then(Value::as_str), Some("complete"));
}

#[tokio::test]
async fn the_data_source_lists_every_slot_with_its_state() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.60", "127.0.100.62").await;
    create(&p, "pagw_instance", instance("beta", "pw")).await.unwrap();
    g.sql("UPDATE pagw_slots SET ignored = 1 WHERE ip = '127.0.100.62'");
    let data =
        p.read_data(tarn_sdk::ReadDataRequest { type_name: "pagw_slots".into(), config: obj(&[]) }).await.unwrap();
    let slots = data.get("slots").and_then(Value::as_list).unwrap();
    let got: Vec<(String, String, String)> = slots
        .iter()
        .map(|s| {
            let f = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            (f("address"), f("state"), f("project"))
        })
        .collect();
    let want = [("127.0.100.60", "claimed", "beta"), ("127.0.100.61", "free", ""), ("127.0.100.62", "ignored", "")];
    assert_eq!(got, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
    assert!(!format!("{data:?}").contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_slot_range_is_not_removed_while_a_project_holds_one_of_its_slots() {
    let g = giif().await;
    let p = configured(&g).await;
    let range = load_slots(&p, "127.0.100.70", "127.0.100.71").await;
    let gw = create(&p, "pagw_instance", instance("gamma", "pw")).await.unwrap();
    let e = delete(&p, "pagw_slot_range", &range).await.unwrap_err();
    assert!(e.contains("held by gamma"), "{e}");
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_slots").trim(), "2");
    delete(&p, "pagw_instance", &gw).await.unwrap();
    delete(&p, "pagw_slot_range", &range).await.unwrap();
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_slots").trim(), "0");
    assert!(read(&p, "pagw_slot_range", &range).await.is_none());
}
