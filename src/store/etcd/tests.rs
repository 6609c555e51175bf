//! What only the etcd store promises: several stores (servers) on one registry see each other's changes at
//! once and never lose one; transactions larger than one etcd request commit whole. The contract every store
//! keeps is checked in `store::tests`, on a real etcd too.

use std::sync::Arc;

use super::pb::RangeRequest;
use super::{EtcdOptions, EtcdStore};
use crate::error::Result;
use crate::model::Grant;
use crate::store::tests::fresh_etcd;
use crate::store::{EtcdLocation, Location, Store};

/// `count` stores on one fresh prefix, as that many servers would have, and where they are; `None` without an
/// etcd to run.
fn servers(count: usize) -> Option<(EtcdLocation, Vec<Arc<EtcdStore>>)> {
    let Location::Etcd(location) = fresh_etcd()? else {
        unreachable!("fresh_etcd gives etcd locations")
    };
    let options = EtcdOptions::from_env().unwrap();
    let stores = (0..count)
        .map(|_| Arc::new(EtcdStore::open(&location, &options).unwrap()))
        .collect();
    Some((location, stores))
}

/// Two stores on one fresh prefix; `None` without an etcd to run.
fn two_servers() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    let (_, mut stores) = servers(2)?;
    let b = stores.pop()?;
    let a = stores.pop()?;
    Some((a, b))
}

/// Every key under the store's prefix, without the prefix.
fn keys_of(store: &EtcdStore) -> Vec<String> {
    let (first, end) = super::keys::prefix_range(&store.prefix);
    let answer = store
        .client
        .range(&RangeRequest {
            key: first,
            range_end: end,
            keys_only: true,
            ..RangeRequest::default()
        })
        .unwrap();
    answer
        .kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key[store.prefix.len()..]).into_owned())
        .collect()
}

/// `store` as the registry calls it.
fn dyn_store(store: &EtcdStore) -> &dyn Store {
    store
}

/// One store on a fresh prefix, holding the role `first` (so that `head` exists); `None` without an etcd to run.
fn one_server_with_a_role() -> Option<Arc<EtcdStore>> {
    let (_, mut stores) = servers(1)?;
    let store = stores.pop()?;
    dyn_store(&store)
        .write(|tx| tx.insert_role("first", ""))
        .unwrap();
    Some(store)
}

/// The generation the registry's records are in now.
fn generation(store: &EtcdStore) -> String {
    let cached = store.refresh_now().unwrap();
    cached.head.as_ref().unwrap().generation.clone()
}

fn grant(role: &str, object: &str) -> Grant {
    Grant {
        role_name: role.into(),
        object_type: "Collection".into(),
        db_name: "default".into(),
        object_name: object.into(),
        privilege: "Search".into(),
        grantor: "root".into(),
    }
}

#[test]
fn a_change_through_one_server_is_seen_by_the_other_at_once() {
    let Some((a, b)) = two_servers() else { return };
    a.write(|tx| tx.insert_role("reader", "")).unwrap();
    assert_eq!(b.read(|tx| tx.role("reader")).unwrap(), Some(String::new()));
    b.write(|tx| tx.insert_grant(&grant("reader", "books")))
        .unwrap();
    assert_eq!(a.read(|tx| tx.grants_of_role("reader")).unwrap().len(), 1);
    b.write(|tx| tx.delete_role("reader").map(drop)).unwrap();
    assert_eq!(a.read(|tx| tx.role("reader")).unwrap(), None);
    assert_eq!(a.version().unwrap(), b.version().unwrap());
}

#[test]
fn concurrent_read_modify_writes_on_two_servers_lose_nothing() {
    let Some((a, b)) = two_servers() else { return };
    const EACH: u64 = 40;
    let threads: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, store)| {
            std::thread::spawn(move || {
                for i in 0..EACH {
                    // A counter read and rewritten: a lost update would show as a short count.
                    store
                        .write(|tx| -> Result<()> {
                            let count: u64 =
                                tx.setting("count")?.map_or(0, |text| text.parse().unwrap());
                            tx.set_setting("count", &(count + 1).to_string())?;
                            tx.insert_user(&format!("u{n}_{i}"), "$h", "")
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let (count, users) = b
        .read(|tx| Ok((tx.setting("count")?, tx.user_count()?)))
        .unwrap();
    assert_eq!(count, Some((4 * EACH).to_string()));
    assert_eq!(users, 4 * EACH);
    assert_eq!(a.version().unwrap().changes, 4 * EACH);
}

#[test]
fn a_transaction_larger_than_an_etcd_request_commits_whole() {
    let Some((a, b)) = two_servers() else { return };
    a.write(|tx| {
        tx.insert_role("many", "")?;
        for n in 0..600 {
            tx.insert_user(
                &format!("user{n:04}"),
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                "",
            )?;
            tx.add_user_role(&format!("user{n:04}"), "many")?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(b.read(|tx| tx.user_count()).unwrap(), 600);
    // And again, replacing that generation: the old one goes.
    b.write(|tx| {
        for n in 0..300 {
            tx.delete_user(&format!("user{n:04}"))?;
        }
        Ok(())
    })
    .unwrap();
    let (users, members) = a
        .read(|tx| Ok((tx.user_count()?, tx.roles_of_user("user0450")?)))
        .unwrap();
    assert_eq!((users, members), (300, vec!["many".to_string()]));
    // A small change after the switch lands in the new generation.
    a.write(|tx| tx.insert_role("after", "")).unwrap();
    assert!(b.read(|tx| tx.role("after")).unwrap().is_some());
}

#[test]
fn a_store_with_no_reachable_member_fails_within_its_timeout() {
    let location = crate::store::EtcdLocation::parse("etcd://127.0.0.1:1/x").unwrap();
    let options = EtcdOptions {
        timeout: std::time::Duration::from_millis(500),
        ..EtcdOptions::from_env().unwrap()
    };
    let store = EtcdStore::open(&location, &options).unwrap();
    let started = std::time::Instant::now();
    let err = store.version().unwrap_err().to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with("etcd at 127.0.0.1:1: no answer within 500ms (127.0.0.1:1: "),
        "{err}"
    );
}

/// A read starts again only after a compaction, and at most `COMPACTION_RETRIES` times.
#[test]
fn only_compactions_are_retried_and_only_so_often() {
    use super::client::CallError;
    use super::{CompactionRetries, COMPACTION_RETRIES};
    let compacted = || CallError::Refused("mvcc: required revision has been compacted".into());
    let mut retries = CompactionRetries::default();
    assert!(!retries.again(&CallError::Refused("permission denied".into())));
    assert!(!retries.again(&CallError::Unknown("compacted".into())));
    for _ in 0..COMPACTION_RETRIES {
        assert!(retries.again(&compacted()));
    }
    assert!(!retries.again(&compacted()));
}

/// `EtcdOptions` from the variables in `set` alone.
fn options(set: &[(&str, &str)]) -> Result<EtcdOptions> {
    let vars: std::collections::HashMap<String, String> = set
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    EtcdOptions::from_vars(|name| vars.get(name).cloned())
}

fn refusal(set: &[(&str, &str)]) -> String {
    options(set).unwrap_err().to_string()
}

#[test]
fn options_without_variables_are_plain_with_a_five_second_timeout() {
    let plain = options(&[]).unwrap();
    assert_eq!(plain.user, None);
    assert_eq!(plain.tls, None);
    assert_eq!(plain.timeout, std::time::Duration::from_secs(5));
    // An empty value counts as unset.
    let empty = options(&[
        ("MILVUS_RBAC_ETCD_USER", ""),
        ("MILVUS_RBAC_ETCD_PASSWORD", ""),
        ("MILVUS_RBAC_ETCD_CA", ""),
        ("MILVUS_RBAC_ETCD_TIMEOUT", ""),
    ])
    .unwrap();
    assert_eq!(
        (empty.user, empty.tls, empty.timeout.as_secs()),
        (None, None, 5)
    );
}

#[test]
fn etcd_password_auth_needs_a_user_and_a_password() {
    let user = |set: &[(&str, &str)]| options(set).unwrap().user.unwrap();
    assert_eq!(
        user(&[
            ("MILVUS_RBAC_ETCD_USER", "rbac"),
            ("MILVUS_RBAC_ETCD_PASSWORD", " secret "),
        ]),
        ("rbac".to_string(), " secret ".to_string())
    );
    let file = crate::store::tests::TempFile::new();
    std::fs::write(&file.0, " from a file \r\n").unwrap();
    let path = file.0.to_str().unwrap();
    // The file's line end goes, its spaces stay; a password given directly wins over the file.
    for (password, expected) in [("", " from a file "), ("direct", "direct")] {
        assert_eq!(
            user(&[
                ("MILVUS_RBAC_ETCD_USER", "rbac"),
                ("MILVUS_RBAC_ETCD_PASSWORD", password),
                ("MILVUS_RBAC_ETCD_PASSWORD_FILE", path),
            ]),
            ("rbac".to_string(), expected.to_string())
        );
    }
    let missing = format!("{path}.missing");
    assert!(refusal(&[
        ("MILVUS_RBAC_ETCD_USER", "rbac"),
        ("MILVUS_RBAC_ETCD_PASSWORD_FILE", &missing),
    ])
    .contains(&format!(
        "cannot read MILVUS_RBAC_ETCD_PASSWORD_FILE {missing}: "
    )));
    for half in [
        ("MILVUS_RBAC_ETCD_USER", "rbac"),
        ("MILVUS_RBAC_ETCD_PASSWORD", "secret"),
        ("MILVUS_RBAC_ETCD_PASSWORD_FILE", path),
    ] {
        assert!(
            refusal(&[half]).contains("etcd's password auth needs both MILVUS_RBAC_ETCD_USER and"),
            "{half:?}"
        );
    }
}

#[test]
fn etcd_timeouts_are_positive_seconds() {
    let timeout = |text| {
        options(&[("MILVUS_RBAC_ETCD_TIMEOUT", text)])
            .unwrap()
            .timeout
    };
    assert_eq!(timeout("0.25"), std::time::Duration::from_millis(250));
    assert_eq!(timeout("12"), std::time::Duration::from_secs(12));
    for bad in ["0", "-1", "soon", "NaN", "1e300"] {
        assert_eq!(
            refusal(&[("MILVUS_RBAC_ETCD_TIMEOUT", bad)]),
            format!("MILVUS_RBAC_ETCD_TIMEOUT must be a positive number of seconds, not {bad:?}"),
        );
    }
}

#[test]
fn etcd_tls_comes_from_a_ca_or_a_whole_client_certificate() {
    let tls = |set: &[(&str, &str)]| options(set).unwrap().tls.unwrap();
    let ca = tls(&[("MILVUS_RBAC_ETCD_CA", "/ca.pem")]);
    assert_eq!(ca.ca_pem, Some("/ca.pem".into()));
    assert_eq!((ca.client_pem, ca.client_key), (None, None));
    let client = tls(&[
        ("MILVUS_RBAC_ETCD_CERT", "/client.pem"),
        ("MILVUS_RBAC_ETCD_KEY", "/client.key"),
    ]);
    assert_eq!(
        (client.ca_pem, client.client_pem, client.client_key),
        (None, Some("/client.pem".into()), Some("/client.key".into()))
    );
    for half in [
        ("MILVUS_RBAC_ETCD_CERT", "/client.pem"),
        ("MILVUS_RBAC_ETCD_KEY", "/client.key"),
    ] {
        assert!(refusal(&[half]).contains(
            "etcd's client certificate needs both MILVUS_RBAC_ETCD_CERT and MILVUS_RBAC_ETCD_KEY"
        ));
    }
}

/// A store shows where it is, and nothing of how it gets in.
#[test]
fn a_store_debugs_as_its_location() {
    let location = EtcdLocation::parse("etcd://127.0.0.1:1/x").unwrap();
    let options = EtcdOptions {
        user: Some(("rbac".into(), "secret".into())),
        ..options(&[]).unwrap()
    };
    let store = EtcdStore::open(&location, &options).unwrap();
    assert!(
        !store.is_read_only(),
        "etcd registries are written through any store"
    );
    let shown = format!("{store:?}");
    assert!(
        shown.starts_with("EtcdStore { location: ") && shown.ends_with(", .. }"),
        "{shown}"
    );
    assert!(
        shown.contains("127.0.0.1:1") && !shown.contains("secret"),
        "{shown}"
    );
}

/// A call answers from the state it began with: another server's change made meanwhile is seen at the next
/// call, never half-way through one; the call's own commits are seen by its later reads.
#[test]
fn a_call_reads_the_state_it_began_with_and_its_own_commits() {
    let Some((a, b)) = two_servers() else { return };
    let role = |store: &Arc<dyn Store>, name: &str| store.read(|tx| tx.role(name)).unwrap();
    let mut calls = 0;
    a.within_call(&mut || {
        calls += 1;
        b.write(|tx| tx.insert_role("meanwhile", ""))?;
        assert_eq!(role(&a, "meanwhile"), None, "the call's state");
        // Only `a` is in a call: `b`, on this thread too, reads the registry as it stands.
        assert_eq!(role(&b, "meanwhile"), Some(String::new()), "another store");
        // Nested calls share the outermost one's state.
        a.within_call(&mut || {
            assert_eq!(role(&a, "meanwhile"), None, "the outer call's state");
            Ok(())
        })?;
        a.write(|tx| tx.insert_role("own", ""))?;
        assert_eq!(role(&a, "own"), Some(String::new()), "its own commit");
        assert_eq!(role(&a, "meanwhile"), Some(String::new()), "committed on");
        b.write(|tx| tx.insert_role("after_own", ""))?;
        assert_eq!(role(&a, "after_own"), None, "the state it committed");
        Ok(())
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(role(&a, "after_own"), Some(String::new()), "the next call");
    // A call that fails leaves nothing pinned either.
    let failed = a.within_call(&mut || {
        Err(crate::error::RbacError::Param {
            message: "stop".into(),
        })
    });
    assert!(failed.is_err());
    b.write(|tx| tx.insert_role("after_failure", "")).unwrap();
    assert_eq!(role(&a, "after_failure"), Some(String::new()));
}

/// A write that fits one etcd request (counted in bytes: keys and values) commits in place, in the records'
/// generation; one too large in bytes (not in records: 100 roles of 20 KiB, over etcd's 1.5 MiB request bound)
/// writes a new generation and removes the old one, whole. Removing the registry leaves nothing under its
/// prefix.
#[test]
fn writes_commit_in_place_unless_too_large_for_one_request() {
    let Some((location, stores)) = servers(2) else {
        return;
    };
    let (a, b) = (dyn_store(&stores[0]), dyn_store(&stores[1]));
    a.write(|tx| tx.insert_role("first", "")).unwrap();
    let started = generation(&stores[0]);
    // 800 KiB: near the bound (1 MiB) of what one request may hold, yet under it.
    let kib = "k".repeat(200 * 1024);
    a.write(|tx| (0..4).try_for_each(|n| tx.insert_role(&format!("kib_{n}"), &kib)))
        .unwrap();
    assert_eq!(generation(&stores[0]), started);
    let big = "x".repeat(20 * 1024);
    a.write(|tx| (0..100).try_for_each(|n| tx.insert_role(&format!("big_{n}"), &big)))
        .unwrap();
    let switched = generation(&stores[0]);
    assert_ne!(switched, started);
    assert_eq!(b.read(|tx| tx.role("big_99")).unwrap(), Some(big));
    assert_eq!(b.read(|tx| tx.role("kib_3")).unwrap(), Some(kib));
    let keys = keys_of(&stores[0]);
    assert_eq!(keys.len(), 1 + 1 + 4 + 100, "{keys:?}");
    for key in keys {
        assert!(
            key == "head" || key.starts_with(&format!("g{switched}/role/")),
            "{key}"
        );
    }
    EtcdStore::remove(&location, &EtcdOptions::from_env().unwrap()).unwrap();
    assert_eq!(keys_of(&stores[0]), Vec::<String>::new());
}

/// The cached state only moves forward: a state read earlier never replaces a later one that another thread
/// here reached first.
#[test]
fn the_cached_state_only_moves_forward() {
    let Some((_, stores)) = servers(1) else {
        return;
    };
    let store = &stores[0];
    let at = |head_revision| {
        Arc::new(super::Cached {
            head_revision,
            head: None,
            memory: Arc::new(crate::store::memory::MemoryStore::new()),
        })
    };
    let cached_revision = || super::lock(&store.cached).head_revision;
    store.keep_if_newer(&at(5));
    assert_eq!(cached_revision(), 5);
    store.keep_if_newer(&at(3));
    assert_eq!(cached_revision(), 5);
    store.keep_if_newer(&at(8));
    assert_eq!(cached_revision(), 8);
}

/// A write of up to 127 records goes in one etcd transaction with `head` (etcd's bound is 128 operations);
/// one more, and it goes to a new generation.
#[test]
fn writes_commit_in_place_up_to_etcds_operation_bound() {
    let Some((_, stores)) = servers(2) else {
        return;
    };
    let (a, b) = (dyn_store(&stores[0]), dyn_store(&stores[1]));
    let roles = |first: usize, count: usize| {
        move |tx: &mut dyn crate::store::WriteTx| {
            (first..first + count).try_for_each(|n| tx.insert_role(&format!("r{n}"), ""))
        }
    };
    a.write(roles(0, 1)).unwrap();
    let started = generation(&stores[0]);
    a.write(roles(1, 127)).unwrap();
    assert_eq!(generation(&stores[0]), started);
    a.write(roles(128, 128)).unwrap();
    assert_ne!(generation(&stores[0]), started);
    assert_eq!(b.read(|tx| tx.role_names()).unwrap().len(), 256);
}

/// A write that lost the race after writing a new generation removes it: what is left under the prefix is
/// the generation `head` names, whole.
#[test]
fn a_generation_never_switched_to_is_removed() {
    let Some((_, stores)) = servers(2) else {
        return;
    };
    let (a, b) = (dyn_store(&stores[0]), dyn_store(&stores[1]));
    a.write(|tx| tx.insert_role("first", "")).unwrap();
    a.within_call(&mut || {
        // `a` answers this call from the state it began with: its first commit must lose to `b`'s.
        b.write(|tx| tx.insert_role("meanwhile", ""))?;
        a.write(|tx| (0..200).try_for_each(|n| tx.insert_role(&format!("r{n}"), "")))
    })
    .unwrap();
    let current = generation(&stores[0]);
    let keys = keys_of(&stores[0]);
    assert_eq!(keys.len(), 1 + 202, "{keys:?}");
    assert!(keys
        .iter()
        .all(|key| key == "head" || key.starts_with(&format!("g{current}/"))));
}

/// A registry larger than one gRPC answer may be (4 MiB) is read a page at a time.
#[test]
fn a_registry_larger_than_one_answer_is_read_in_pages() {
    let Some((_, stores)) = servers(2) else {
        return;
    };
    let (a, b) = (dyn_store(&stores[0]), dyn_store(&stores[1]));
    let description = "d".repeat(1024);
    a.write(|tx| (0..4500).try_for_each(|n| tx.insert_role(&format!("role_{n:04}"), &description)))
        .unwrap();
    let (count, last) = b
        .read(|tx| Ok((tx.role_names()?.len(), tx.role("role_4499")?)))
        .unwrap();
    assert_eq!((count, last), (4500, Some(description)));
}

/// A commit whose answer is lost (etcd applied it, then the connection failed) is found applied when `head`
/// is read again: the write succeeds, once, and is not reported as possibly lost.
#[test]
fn a_commit_whose_answer_was_lost_is_found_applied() {
    let Some(Location::Etcd(location)) = fresh_etcd() else {
        return;
    };
    let proxy = super::testing::LosingProxy::start(&location.endpoints[0]);
    let options = EtcdOptions {
        timeout: std::time::Duration::from_secs(1),
        ..EtcdOptions::from_env().unwrap()
    };
    let through_proxy = EtcdLocation {
        endpoints: vec![proxy.endpoint.clone()],
        ..location.clone()
    };
    let store = EtcdStore::open(&through_proxy, &options).unwrap();
    let store: &dyn Store = &store;
    store.write(|tx| tx.insert_role("before", "")).unwrap();
    store
        .within_call(&mut || {
            // The call's state is read: the next request is the commit's.
            proxy.lose_next_answer();
            store.write(|tx| tx.insert_role("answer_lost", ""))
        })
        .unwrap();
    let direct = EtcdStore::open(&location, &options).unwrap();
    let direct: &dyn Store = &direct;
    assert_eq!(
        direct.read(|tx| tx.role("answer_lost")).unwrap(),
        Some(String::new())
    );
    assert_eq!(direct.version().unwrap().changes, 2);
}

/// While another server holds the registry's turn, a write waits for the turn to end.
#[test]
fn a_write_waits_for_another_servers_turn() {
    let Some((_, stores)) = servers(2) else {
        return;
    };
    let (holder, waiter) = (Arc::clone(&stores[0]), &stores[1]);
    dyn_store(waiter)
        .write(|tx| tx.insert_role("first", ""))
        .unwrap();
    let turn = holder.take_turn().unwrap().expect("nobody holds the turn");
    assert!(holder.holds_turn(&turn).unwrap());
    assert_eq!(waiter.take_turn().unwrap(), None, "one turn at a time");
    assert!(!waiter.holds_turn("another").unwrap());
    // The holder's turn ends half a second from now, as its commit would end it.
    let ending = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let ending = std::time::Instant::now();
        holder
            .client
            .txn(&super::pb::TxnRequest {
                success: vec![super::delete(
                    super::keys::turn_key(&holder.prefix),
                    Vec::new(),
                )],
                ..super::pb::TxnRequest::default()
            })
            .unwrap();
        ending
    });
    dyn_store(waiter)
        .write(|tx| tx.insert_role("waited", ""))
        .unwrap();
    let committed = std::time::Instant::now();
    assert!(
        committed > ending.join().unwrap(),
        "committed during another's turn"
    );
    assert!(!keys_of(waiter).contains(&"turn".to_string()));
}

/// A commit made in the writer's own turn applies, and ends the turn; one made while another's turn lasts
/// does not.
#[test]
fn a_commit_in_ones_own_turn_applies_and_ends_it() {
    let Some((_, stores)) = servers(2) else {
        return;
    };
    let (ours, theirs) = (&stores[0], &stores[1]);
    dyn_store(ours)
        .write(|tx| tx.insert_role("first", ""))
        .unwrap();
    let cached = ours.refresh_now().unwrap();
    let head = || super::Head {
        transaction: super::random_id().unwrap(),
        ..cached.head.clone().unwrap()
    };
    let turn = theirs.take_turn().unwrap().unwrap();
    assert!(
        keys_of(ours).contains(&"turn".to_string()),
        "the turn is the registry's"
    );
    for (who, holding) in [
        ("nobody's turn", None),
        ("someone else's turn", Some("not-theirs")),
    ] {
        let outcome = ours
            .switch_head(&cached, Vec::new(), head(), holding)
            .unwrap();
        assert!(matches!(outcome, super::Commit::Conflict), "in {who}");
    }
    let outcome = theirs
        .switch_head(&cached, Vec::new(), head(), Some(&turn))
        .unwrap();
    assert!(matches!(outcome, super::Commit::Done(..)));
    assert!(
        !keys_of(ours).contains(&"turn".to_string()),
        "the turn ended"
    );
}

/// A write that wins its race at once takes no turn: at no revision from the state it read to its commit did
/// the turn key exist.
#[test]
fn a_write_that_wins_at_once_takes_no_turn() {
    let Some(store) = one_server_with_a_role() else {
        return;
    };
    let before = store.refresh_now().unwrap().head_revision;
    dyn_store(&store)
        .write(|tx| tx.insert_role("second", ""))
        .unwrap();
    let after = store.refresh_now().unwrap().head_revision;
    assert!(after > before);
    for revision in before..=after {
        let answer = store
            .client
            .range(&RangeRequest {
                key: super::keys::turn_key(&store.prefix),
                revision,
                ..RangeRequest::default()
            })
            .unwrap();
        assert!(answer.kvs.is_empty(), "a turn at revision {revision}");
    }
}

/// A turn whose holder never commits (it died) ends with its lease.
#[test]
fn a_turn_ends_with_its_lease() {
    let Some((_, stores)) = servers(1) else {
        return;
    };
    let turn = stores[0].take_turn().unwrap().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stores[0].holds_turn(&turn).unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the turn outlived its lease of {} s",
            super::TURN_SECONDS
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// etcd's password auth: a store without credentials, or with a wrong password, is refused at once (a
/// refusal is final, not retried until the timeout); with them it logs in, through a member that is down
/// first, and logs in again when its token expires (here after a second unused).
#[test]
fn etcds_password_auth_is_used_and_renewed() {
    let Some(member) = super::testing::start("--auth-token-ttl 1") else {
        return;
    };
    super::testing::enable_auth(&member.endpoint, "etcd-secret");
    let location =
        EtcdLocation::parse(&format!("etcd://127.0.0.1:1,{}/authed", member.endpoint)).unwrap();
    let open = |set: &[(&str, &str)]| EtcdStore::open(&location, &options(set).unwrap()).unwrap();
    for (set, says) in [
        (vec![], "user name is empty"),
        (
            vec![
                ("MILVUS_RBAC_ETCD_USER", "root"),
                ("MILVUS_RBAC_ETCD_PASSWORD", "wrong"),
            ],
            "logging in as \"root\": etcdserver: authentication failed",
        ),
    ] {
        let started = std::time::Instant::now();
        let refused = open(&set).version().unwrap_err().to_string();
        assert!(refused.contains(says), "{refused}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{refused}"
        );
    }
    let store = open(&[
        ("MILVUS_RBAC_ETCD_USER", "root"),
        ("MILVUS_RBAC_ETCD_PASSWORD", "etcd-secret"),
    ]);
    let store: &dyn Store = &store;
    store.write(|tx| tx.insert_role("behind_auth", "")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    store
        .write(|tx| tx.insert_role("after_expiry", ""))
        .unwrap();
    assert_eq!(store.read(|tx| tx.role_names()).unwrap().len(), 2);
}

/// A registry is read as it was at the revision its `head` was read at, even after a new generation replaced
/// (and removed) the records meanwhile.
#[test]
fn records_are_read_at_the_revision_of_their_head() {
    let Some(store) = one_server_with_a_role() else {
        return;
    };
    let then = store.refresh_now().unwrap();
    dyn_store(&store)
        .write(|tx| (0..200).try_for_each(|n| tx.insert_role(&format!("r{n}"), "")))
        .unwrap();
    assert_ne!(generation(&store), then.head.as_ref().unwrap().generation);
    let loaded = store.load(then.head.as_ref(), then.head_revision).unwrap();
    let loaded: &dyn Store = &loaded;
    assert_eq!(
        loaded.read(|tx| tx.role_names()).unwrap(),
        ["first"].into_iter().collect()
    );
}
