//! The audit trail, from the registry's side: what each call records, and reading the trail back.
//!
//! A change's record is appended inside the change's own transaction (`Call::write`), so the two commit
//! together or not at all. A refused change, a denial and a failed login change nothing: each is recorded
//! in a transaction of its own; a user's denials only up to a rate (see [`super::denials`]). A registry this
//! process may only read records nothing (it cannot change either).

use std::time::Instant;

use super::denials::DENIALS_PER_SECOND;
use super::{Call, Registry};
use crate::audit::{self, AuditEntry, AuditRecord, Outcome, Verification};
use crate::error::{RbacError, Result};
use crate::ops::{args, ArgKind, Request, ValueRef};
use crate::store::WriteTx;

/// What a request acted on, by argument name: no password, no client-side option.
pub(super) fn target_of(request: &Request) -> Vec<(String, String)> {
    let spec = request.spec();
    spec.args
        .iter()
        .zip(request.values())
        .filter(|(arg, _)| !arg.kind.is_client_side())
        .filter_map(|(arg, value)| {
            let text = match value {
                ValueRef::Secret(_) | ValueRef::Seconds(_) => return None,
                ValueRef::Text(text) => text.to_string(),
                ValueRef::OptionalText(text) => text?.to_string(),
                ValueRef::Texts(texts) => texts.join(","),
                ValueRef::Flag(flag) => if flag { "True" } else { "False" }.to_string(),
                ValueRef::Backup(backup) => format!(
                    "{} users, {} roles, {} grants, {} groups",
                    backup.users.len(),
                    backup.roles.len(),
                    backup.grants.len(),
                    backup.groups.len()
                ),
            };
            debug_assert!(!matches!(
                arg.kind,
                ArgKind::Password | ArgKind::NewPassword
            ));
            Some((arg.name.to_string(), text))
        })
        .collect()
}

impl Call<'_> {
    /// The record of this call, stamped now.
    fn entry(&self) -> AuditEntry {
        AuditEntry::now(
            self.caller.user().unwrap_or_default(),
            self.caller.db_name(),
            self.request.spec().name,
        )
        .with_target(target_of(self.request))
    }

    /// Run `work` in a write transaction that also appends this call's record to the audit trail. See
    /// [`crate::store::Store::write_with`]: `work` may run more than once.
    pub(super) fn write<T>(&self, work: impl FnMut(&mut dyn WriteTx) -> Result<T>) -> Result<T> {
        self.registry.write_recorded(self.entry(), work)
    }
}

impl Registry {
    /// Run `work` in a write transaction that appends `entry` to the audit trail too.
    pub(super) fn write_recorded<T>(
        &self,
        entry: AuditEntry,
        mut work: impl FnMut(&mut dyn WriteTx) -> Result<T>,
    ) -> Result<T> {
        let keep = self.settings().audit_retention;
        self.write(|tx| {
            let value = work(tx)?;
            tx.append_audit(&entry, keep)?;
            Ok(value)
        })
    }

    /// Record what changed nothing (a refused change, a denial, a failed login) in a transaction of its own.
    /// The caller's error is what the caller gets, so a trail that cannot be written does not hide it.
    pub(super) fn record_refusal(&self, entry: AuditEntry) {
        if self.store().is_read_only() {
            return;
        }
        let keep = self.settings().audit_retention;
        let _ = self.write(|tx| tx.append_audit(&entry, keep));
    }

    /// Record `err`, which refused `call` before or while it ran, if it is worth a record: a denial or a
    /// failed credential at any call, any failure of a change.
    pub(super) fn record_failed_call(&self, call: &Call<'_>, err: &RbacError, changes: bool) {
        let outcome = match err {
            RbacError::PermissionDenied { .. } => Outcome::Denied,
            RbacError::Authentication { .. } => Outcome::LoginFailed,
            // The store itself failed: writing to it again would fail too.
            RbacError::Storage { .. } => return,
            _ if changes => Outcome::Failed,
            _ => return,
        };
        let mut entry = call.entry().ended_by(outcome, err);
        if outcome == Outcome::Denied {
            match self.shared.denials.take(&entry.user, Instant::now()) {
                None => return,
                Some(0) => {}
                Some(unrecorded) => {
                    entry.message = format!(
                        "{} ({unrecorded} denials of this user before this one were not recorded: over \
                         {DENIALS_PER_SECOND} a second)",
                        entry.message
                    )
                }
            }
        }
        self.record_refusal(entry);
    }

    /// The trail's records, oldest first: of `user_name` only, if given; from `since` (seconds since the
    /// epoch) on, if given.
    pub(super) fn audit(&self, _call: &Call<'_>, args: &args::Audit) -> Result<Vec<AuditRecord>> {
        let since_ms = match args.since {
            Some(seconds) if !seconds.is_finite() => {
                return Err(RbacError::Param {
                    message: format!("`since` value {seconds} is illegal"),
                })
            }
            Some(seconds) => Some((seconds * 1000.0).ceil() as i64),
            None => None,
        };
        let log = self.store().audit_log()?;
        log.lines
            .iter()
            .map(|(_, line)| AuditRecord::decode(line))
            .filter(|record| match record {
                Ok(record) => {
                    args.user_name
                        .as_deref()
                        .is_none_or(|user| record.entry.user == user)
                        && since_ms.is_none_or(|since| record.entry.at_ms >= since)
                }
                Err(_) => true,
            })
            .collect()
    }

    /// Check the trail's hashes, links and bounds.
    pub(super) fn verify_audit(
        &self,
        _call: &Call<'_>,
        _args: &args::VerifyAudit,
    ) -> Result<Verification> {
        Ok(audit::verify(&self.store().audit_log()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{Caller, Credentials};
    use crate::ops::Reply;
    use crate::profile::ProfileName;
    use crate::registry::testing::{registry, request};

    fn run(
        registry: &Registry,
        caller: &crate::caller::Caller,
        name: &str,
        args: &[(&str, &str)],
    ) -> Result<Reply> {
        registry.execute(caller, &request(name, args))
    }

    fn records(
        registry: &Registry,
        caller: &crate::caller::Caller,
        args: &[(&str, &str)],
    ) -> Vec<AuditRecord> {
        match run(registry, caller, "audit", args) {
            Ok(Reply::AuditRecords(records)) => records.as_ref().clone(),
            other => panic!("audit answered {other:?}"),
        }
    }

    /// Who, which operation, on what, and how it ended.
    type Line = (String, String, Vec<(String, String)>, Outcome);

    fn summary(records: &[AuditRecord]) -> Vec<Line> {
        records
            .iter()
            .map(|r| {
                let e = &r.entry;
                (
                    e.user.clone(),
                    e.operation.clone(),
                    e.target.clone(),
                    e.outcome,
                )
            })
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A user `u` (password Secr3t-pw), created by root, and logged in.
    fn user_u(registry: &Registry, root: &Caller) -> Caller {
        let create = [("user_name", "u"), ("password", "Secr3t-pw")];
        run(registry, root, "create_user", &create).unwrap();
        registry
            .authenticate(&Credentials::parse("", "", "u:Secr3t-pw"), "")
            .unwrap()
    }

    /// Found by mutation testing: the trail's contents were checked from Python only.
    #[test]
    fn changes_refusals_denials_and_failed_logins_are_recorded_without_secrets() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_u(&registry, &root);
        run(
            &registry,
            &root,
            "create_role",
            &[("role_name", "r"), ("description", "d")],
        )
        .unwrap();
        assert!(run(&registry, &root, "create_role", &[("role_name", "r")]).is_err());
        assert!(run(&registry, &user, "drop_role", &[("role_name", "r")]).is_err());
        assert!(registry
            .authenticate(&Credentials::parse("", "", "u:Wr0ng-guess"), "")
            .is_err());
        // Reads leave no record; an unavailable operation none either.
        run(&registry, &root, "list_roles", &[]).unwrap();
        let all = records(&registry, &root, &[]);
        assert_eq!(
            summary(&all),
            vec![
                (
                    "".into(),
                    "create_registry".into(),
                    pairs(&[("profile", "milvus-2.6")]),
                    Outcome::Done
                ),
                (
                    "root".into(),
                    "create_user".into(),
                    pairs(&[("user_name", "u")]),
                    Outcome::Done
                ),
                (
                    "root".into(),
                    "create_role".into(),
                    pairs(&[("role_name", "r"), ("description", "d")]),
                    Outcome::Done
                ),
                (
                    "root".into(),
                    "create_role".into(),
                    pairs(&[("role_name", "r")]),
                    Outcome::Failed
                ),
                (
                    "u".into(),
                    "drop_role".into(),
                    pairs(&[("role_name", "r"), ("force_drop", "False")]),
                    Outcome::Denied
                ),
                ("u".into(), "login".into(), vec![], Outcome::LoginFailed),
            ]
        );
        assert_eq!(all[3].entry.code, 65535);
        assert_eq!(
            all[4].entry.message,
            "PrivilegeDropOwnership: permission deny to u in the `default` database"
        );
        assert_eq!(all[5].entry.code, 2);
        let everything = format!("{all:?}");
        assert!(!everything.contains("Secr3t") && !everything.contains("Wr0ng"));
        assert_eq!(
            all.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn audit_filters_by_user_and_time() {
        let (registry, root) = registry(ProfileName::Milvus26);
        run(&registry, &root, "create_role", &[("role_name", "r")]).unwrap();
        let all = records(&registry, &root, &[]);
        let newest = all.last().unwrap().entry.at_ms;
        let by_root = records(&registry, &root, &[("user_name", "root")]);
        assert_eq!(summary(&by_root).len(), 1);
        assert!(records(&registry, &root, &[("user_name", "nobody")]).is_empty());
        let since = |seconds: f64| {
            let spec = crate::ops::OpSpec::named("audit").unwrap();
            let values = vec![
                crate::ops::Value::OptionalText(None),
                crate::ops::Value::Seconds(Some(seconds)),
                crate::ops::Value::Seconds(None),
            ];
            registry.execute(&root, &Request::from_values(spec, values).unwrap())
        };
        let from = |seconds: f64| match since(seconds) {
            Ok(Reply::AuditRecords(records)) => records.len(),
            other => panic!("{other:?}"),
        };
        // A moment in seconds, rounded up to the millisecond: half a millisecond before the newest record keeps
        // it, half a millisecond after does not.
        let at_newest = all.iter().filter(|r| r.entry.at_ms >= newest).count();
        assert_eq!(from((newest as f64 - 0.5) / 1000.0), at_newest);
        assert_eq!(from((newest as f64 + 0.5) / 1000.0), 0);
        assert_eq!(from(0.0), all.len());
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(since(bad).unwrap_err().to_string().contains("`since`"));
        }
    }

    /// An open client whose password was changed meanwhile fails its next call: a failed login, on a read too.
    #[test]
    fn a_stale_credential_at_a_call_is_a_failed_login() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_u(&registry, &root);
        let change = [
            ("user_name", "u"),
            ("old_password", "Secr3t-pw"),
            ("new_password", "N3w-P@ssw0rd"),
        ];
        run(&registry, &root, "update_password", &change).unwrap();
        assert!(run(&registry, &user, "describe_user", &[("user_name", "u")]).is_err());
        let last = records(&registry, &root, &[]).pop().unwrap();
        assert_eq!(
            (
                last.entry.user.as_str(),
                last.entry.operation.as_str(),
                last.entry.outcome
            ),
            ("u", "describe_user", Outcome::LoginFailed)
        );
    }

    /// A user's flood of denied calls leaves a burst of records, then a steady rate; a later record counts the
    /// ones left out.
    #[test]
    fn a_users_denials_are_recorded_up_to_a_rate() {
        use super::super::denials::DENIAL_BURST;
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_u(&registry, &root);
        let denials = |registry: &Registry| {
            records(registry, &root, &[])
                .into_iter()
                .filter(|record| record.entry.outcome == Outcome::Denied)
                .collect::<Vec<_>>()
        };
        let started = Instant::now();
        for _ in 0..200 {
            assert!(run(&registry, &user, "create_role", &[("role_name", "r")]).is_err());
        }
        let seconds = started.elapsed().as_secs_f64();
        let recorded = denials(&registry).len() as f64;
        let allowed = f64::from(DENIAL_BURST) + seconds * f64::from(DENIALS_PER_SECOND) + 1.0;
        assert!(
            recorded >= f64::from(DENIAL_BURST) && recorded <= allowed,
            "{recorded} in {seconds} s"
        );
        if recorded < 200.0 {
            std::thread::sleep(std::time::Duration::from_millis(150));
            assert!(run(&registry, &user, "create_role", &[("role_name", "r")]).is_err());
            let last = denials(&registry).pop().unwrap();
            assert!(
                last.entry.message.ends_with(&format!(
                    "({} denials of this user before this one were not recorded: over 10 a second)",
                    200 - recorded as u64
                )),
                "{}",
                last.entry.message
            );
        }
    }

    #[test]
    fn storage_failures_are_not_recorded_as_refusals() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let call = Call {
            caller: &root,
            request: &request("create_role", &[("role_name", "r")]),
            version: registry.store().version().unwrap(),
            registry: &registry,
            view: std::cell::OnceCell::new(),
        };
        let before = registry.store().audit_log().unwrap().lines.len();
        registry.record_failed_call(
            &call,
            &RbacError::Storage {
                message: "disk full".into(),
            },
            true,
        );
        registry.record_failed_call(&call, &RbacError::RoleLimit, false);
        assert_eq!(registry.store().audit_log().unwrap().lines.len(), before);
        registry.record_failed_call(&call, &RbacError::RoleLimit, true);
        assert_eq!(
            registry.store().audit_log().unwrap().lines.len(),
            before + 1
        );
    }
}
