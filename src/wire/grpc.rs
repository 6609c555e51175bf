//! Milvus's gRPC protocol: the messages (generated from proto/ at build time), the service's path, and what
//! the protocol says of the RPCs milvus-rbac does not serve.

use base64::Engine;

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
