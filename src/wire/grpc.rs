//! Milvus's gRPC protocol: the messages (generated from proto/ at build time), the service's path, and what
//! the protocol says of the RPCs milvus-rbac does not serve.

use base64::Engine;
use bytes::Bytes;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::model::{BackupRole, BackupUser, Grant, Group, RbacBackup};

/// The messages of proto/, as prost generates them; `milvus` refers to `common` as `super::common`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    pub mod common {
        include!(concat!(env!("OUT_DIR"), "/milvus.proto.common.rs"));
    }
    pub mod milvus {
        include!(concat!(env!("OUT_DIR"), "/milvus.proto.milvus.rs"));
    }
}

/// The path prefix of every method of Milvus's service: `/milvus.proto.milvus.MilvusService/<Rpc>`.
pub const SERVICE_PATH: &str = "/milvus.proto.milvus.MilvusService/";

/// Milvus's code for a call this server does not serve (`ErrServiceUnimplemented`).
pub const CODE_UNIMPLEMENTED: i32 = 10;

/// Where the answer of one of Milvus's RPCs carries its `common.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPlace {
    /// The answer is a `common.Status`.
    Whole,
    /// The answer is a message whose field of this number is the status.
    Field(u32),
}

/// RPCs of `MilvusService` (milvus-proto, master of 2026-08) that answer a bare `common.Status`.
const ANSWER_STATUS: &[&str] = &[
    "AddCollectionField",
    "AddCollectionFunction",
    "AddCollectionStructField",
    "AddFileResource",
    "AddUserTags",
    "AlterAlias",
    "AlterCollection",
    "AlterCollectionField",
    "AlterCollectionFunction",
    "AlterDatabase",
    "AlterIndex",
    "AlterRole",
    "BatchUpdateManifest",
    "CreateAlias",
    "CreateCollection",
    "CreateCredential",
    "CreateDatabase",
    "CreateIndex",
    "CreatePartition",
    "CreatePrivilegeGroup",
    "CreateResourceGroup",
    "CreateRole",
    "CreateRowPolicy",
    "CreateSnapshot",
    "DeleteCredential",
    "DeleteRLSPrincipalTags",
    "DeleteUserTags",
    "DropAlias",
    "DropCollection",
    "DropCollectionFunction",
    "DropDatabase",
    "DropIndex",
    "DropPartition",
    "DropPrivilegeGroup",
    "DropResourceGroup",
    "DropRole",
    "DropRowPolicy",
    "DropSnapshot",
    "LoadBalance",
    "LoadCollection",
    "LoadPartitions",
    "OperatePrivilege",
    "OperatePrivilegeGroup",
    "OperatePrivilegeV2",
    "OperateUserRole",
    "ReleaseCollection",
    "ReleasePartitions",
    "RemoveFileResource",
    "RenameCollection",
    "RestoreRBAC",
    "SetRLSPrincipalTags",
    "TransferNode",
    "TransferReplica",
    "UnpinSnapshotData",
    "UpdateCredential",
    "UpdateReplicateConfiguration",
    "UpdateResourceGroups",
    "UpdateRowPolicy",
];

/// RPCs of `MilvusService` whose answer holds its status in field 1.
const ANSWER_STATUS_AT_1: &[&str] = &[
    "AllocTimestamp",
    "AlterCollectionSchema",
    "BackupRBAC",
    "BatchDescribeCollection",
    "CalcDistance",
    "CheckHealth",
    "ComputePhraseMatchSlop",
    "Connect",
    "CreateNamespace",
    "Delete",
    "DescribeAlias",
    "DescribeCollection",
    "DescribeDatabase",
    "DescribeIndex",
    "DescribeNamespace",
    "DescribePrewarmTask",
    "DescribeResourceGroup",
    "DescribeSegmentIndexData",
    "DescribeSnapshot",
    "DropNamespace",
    "ExportSnapshot",
    "Flush",
    "FlushAll",
    "GetCollectionStatistics",
    "GetCompactionState",
    "GetCompactionStateWithPlans",
    "GetExportSnapshotState",
    "GetFlushAllState",
    "GetFlushState",
    "GetImportState",
    "GetIndexBuildProgress",
    "GetIndexState",
    "GetIndexStatistics",
    "GetLoadState",
    "GetLoadingProgress",
    "GetMetrics",
    "GetNamespaceStats",
    "GetPartitionStatistics",
    "GetPersistentSegmentInfo",
    "GetQuerySegmentInfo",
    "GetRLSPrincipalTags",
    "GetRefreshExternalCollectionProgress",
    "GetReplicas",
    "GetReplicateConfiguration",
    "GetRestoreSnapshotState",
    "GetUserTags",
    "GetVersion",
    "HasCollection",
    "HasNamespace",
    "HasPartition",
    "HybridSearch",
    "Import",
    "Insert",
    "ListAliases",
    "ListCredUsers",
    "ListDatabases",
    "ListFileResources",
    "ListImportTasks",
    "ListIndexedSegment",
    "ListNamespaces",
    "ListPrivilegeGroups",
    "ListRLSPrincipals",
    "ListRefreshExternalCollectionJobs",
    "ListResourceGroups",
    "ListRestoreSnapshotJobs",
    "ListRowPolicies",
    "ListSnapshots",
    "ListUsersWithTag",
    "ManualCompaction",
    "PinSnapshotData",
    "Prewarm",
    "Query",
    "RefreshExternalCollection",
    "ReplicateMessage",
    "RestoreExternalSnapshot",
    "RestoreSnapshot",
    "RunAnalyzer",
    "Search",
    "SelectGrant",
    "SelectRole",
    "SelectUser",
    "ShowCollections",
    "ShowPartitions",
    "TruncateCollection",
    "Upsert",
];

/// Messages pass through tonic as bytes: each front decodes them by method.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        let length = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, length)))
    }
}

/// Where Milvus's RPC `rpc` answers its status; `None` for a name Milvus's service does not have (or whose
/// answer has no status: `Dummy`, `GetReplicateInfo`).
pub fn status_place(rpc: &str) -> Option<StatusPlace> {
    match rpc {
        "GetComponentStates" => Some(StatusPlace::Field(3)),
        "RegisterLink" => Some(StatusPlace::Field(2)),
        _ if ANSWER_STATUS.contains(&rpc) => Some(StatusPlace::Whole),
        _ if ANSWER_STATUS_AT_1.contains(&rpc) => Some(StatusPlace::Field(1)),
        _ => None,
    }
}

/// A password as the SDKs put it in a request body: standard base64 of its UTF-8 text. `None` if it is not.
pub fn decode_password(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// A role as the messages carry it.
pub fn role_entity(name: &str, description: &str) -> pb::milvus::RoleEntity {
    pb::milvus::RoleEntity {
        name: name.to_string(),
        description: description.to_string(),
    }
}

/// Privilege names as the messages carry them.
pub fn privilege_entities(names: &[String]) -> Vec<pb::milvus::PrivilegeEntity> {
    names
        .iter()
        .map(|name| pb::milvus::PrivilegeEntity { name: name.clone() })
        .collect()
}

/// A grant as `SelectGrant` and `BackupRBAC` answer it: every entity filled (the Node.js SDK reads them all).
pub fn grant_entity(grant: &Grant) -> pb::milvus::GrantEntity {
    pb::milvus::GrantEntity {
        role: Some(role_entity(&grant.role_name, "")),
        object: Some(pb::milvus::ObjectEntity {
            name: grant.object_type.clone(),
        }),
        object_name: grant.object_name.clone(),
        grantor: Some(pb::milvus::GrantorEntity {
            user: Some(pb::milvus::UserEntity {
                name: grant.grantor.clone(),
            }),
            privilege: Some(pb::milvus::PrivilegeEntity {
                name: grant.privilege.clone(),
            }),
        }),
        db_name: grant.db_name.clone(),
    }
}

/// A grant entity as a grant; missing entities are empty names.
pub fn grant_of(entity: pb::milvus::GrantEntity) -> Grant {
    let grantor = entity.grantor.unwrap_or_default();
    Grant {
        role_name: entity.role.map(|role| role.name).unwrap_or_default(),
        object_type: entity.object.map(|object| object.name).unwrap_or_default(),
        db_name: entity.db_name,
        object_name: entity.object_name,
        privilege: grantor
            .privilege
            .map(|privilege| privilege.name)
            .unwrap_or_default(),
        grantor: grantor.user.map(|user| user.name).unwrap_or_default(),
    }
}

/// A backup as `RBACMeta`: users with their stored hashes (opaque), roles, grants and custom groups.
pub fn meta_of(backup: &RbacBackup) -> pb::milvus::RbacMeta {
    pb::milvus::RbacMeta {
        users: backup
            .users
            .iter()
            .map(|user| pb::milvus::UserInfo {
                user: user.name.clone(),
                password: user.password_hash.clone(),
                roles: user
                    .roles
                    .iter()
                    .map(|role| role_entity(role, ""))
                    .collect(),
            })
            .collect(),
        roles: backup
            .roles
            .iter()
            .map(|role| role_entity(&role.name, &role.description))
            .collect(),
        grants: backup.grants.iter().map(grant_entity).collect(),
        privilege_groups: backup
            .groups
            .iter()
            .map(|group| pb::milvus::PrivilegeGroupInfo {
                group_name: group.name.clone(),
                privileges: privilege_entities(&group.privileges),
            })
            .collect(),
    }
}

/// `RBACMeta` as a backup (`RBACMeta` carries no user descriptions).
pub fn backup_of(meta: pb::milvus::RbacMeta) -> RbacBackup {
    RbacBackup {
        users: meta
            .users
            .into_iter()
            .map(|user| BackupUser {
                name: user.user,
                password_hash: user.password,
                description: String::new(),
                roles: user.roles.into_iter().map(|role| role.name).collect(),
            })
            .collect(),
        roles: meta
            .roles
            .into_iter()
            .map(|role| BackupRole {
                name: role.name,
                description: role.description,
            })
            .collect(),
        grants: meta.grants.into_iter().map(grant_of).collect(),
        groups: meta
            .privilege_groups
            .into_iter()
            .map(|group| Group {
                name: group.group_name,
                privileges: group.privileges.into_iter().map(|p| p.name).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_places_follow_milvus_proto() {
        assert_eq!(status_place("CreateCredential"), Some(StatusPlace::Whole));
        assert_eq!(status_place("CreateCollection"), Some(StatusPlace::Whole));
        assert_eq!(status_place("Search"), Some(StatusPlace::Field(1)));
        assert_eq!(
            status_place("DescribeCollection"),
            Some(StatusPlace::Field(1))
        );
        assert_eq!(
            status_place("GetComponentStates"),
            Some(StatusPlace::Field(3))
        );
        assert_eq!(status_place("NoSuchRpc"), None);
        assert_eq!(ANSWER_STATUS.len() + ANSWER_STATUS_AT_1.len() + 2, 145);
    }

    #[test]
    fn passwords_travel_as_base64() {
        assert_eq!(decode_password("UEBzc3cwcmQ=").as_deref(), Some("P@ssw0rd"));
        assert_eq!(
            decode_password("w7xuw686Y8O2ZGU=").as_deref(),
            Some("ünï:cöde")
        );
        assert_eq!(decode_password("not base64!"), None);
        assert_eq!(decode_password("/w=="), None, "not UTF-8");
    }
}
