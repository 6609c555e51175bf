//! The audit trail, from the registry's side: what each call records, and reading the trail back.
//!
//! A change's record is appended inside the change's own transaction (`Call::write`), so the two commit
//! together or not at all. A refused change, a denial and a failed login change nothing: each is recorded
//! in a transaction of its own. A registry this process may only read records nothing (it cannot change
//! either).

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
        self.record_refusal(call.entry().ended_by(outcome, err));
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
