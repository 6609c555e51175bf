//! What only the etcd store promises: several stores (servers) on one registry see each other's changes at
//! once and never lose one; transactions larger than one etcd request commit whole. The contract every store
//! keeps is checked in `store::tests`, on a real etcd too.

use std::sync::Arc;

use super::{EtcdOptions, EtcdStore};
use crate::error::Result;
use crate::model::Grant;
use crate::store::tests::fresh_etcd;
use crate::store::{Location, Store};

/// Two stores on one fresh prefix, as two servers would have; `None` without an etcd to run.
fn two_servers() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    let Location::Etcd(location) = fresh_etcd()? else {
        unreachable!("fresh_etcd gives etcd locations")
    };
    let options = EtcdOptions::from_env().unwrap();
    let open = || -> Arc<dyn Store> { Arc::new(EtcdStore::open(&location, &options).unwrap()) };
    Some((open(), open()))
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
        err.starts_with("etcd at 127.0.0.1:1: no answer within 500ms"),
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
