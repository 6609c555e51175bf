//! The privilege catalog: object types, privilege names, privilege groups and levels, per Milvus line.
//!
//! Everything here is data tagged with the Milvus line that introduced it; a profile's catalog is the data of
//! its line. Names are Milvus's API names (`Search`, not `PrivilegeSearch`).

use std::fmt;

use crate::model::Group;

/// A Milvus release line, in order. A profile sees what its line and the earlier ones introduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Line {
    V24,
    V25,
    V26,
    V30,
}

/// The object types a privilege applies to (proto `common.ObjectType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectType {
    Collection,
    Global,
    User,
}

impl ObjectType {
    pub const ALL: [ObjectType; 3] = [ObjectType::Collection, ObjectType::Global, ObjectType::User];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Collection => "Collection",
            ObjectType::Global => "Global",
            ObjectType::User => "User",
        }
    }

    /// The object type named exactly `name` (names are case-sensitive, as in Milvus).
    pub fn parse(name: &str) -> Option<ObjectType> {
        ObjectType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grant-v2 privilege level: which scopes a group may be granted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Cluster,
    Database,
    Collection,
}

use Line::{V24, V25, V26, V30};
use ObjectType::{Collection, Global, User};

/// A privilege name, the object type whose v1 list holds it (`None`: defined, but grantable only through
/// grant v2), and the line that introduced it.
type PrivilegeDef = (&'static str, Option<ObjectType>, Line);

/// `util.ObjectPrivileges` plus the other defined names, in Milvus's list order.
const PRIVILEGES: &[PrivilegeDef] = &[
    ("Load", Some(Collection), V24),
    ("Release", Some(Collection), V24),
    ("Compaction", Some(Collection), V24),
    ("Insert", Some(Collection), V24),
    ("Delete", Some(Collection), V24),
    ("Upsert", Some(Collection), V24),
    ("GetStatistics", Some(Collection), V24),
    ("CreateIndex", Some(Collection), V24),
    ("IndexDetail", Some(Collection), V24),
    ("DropIndex", Some(Collection), V24),
    ("Search", Some(Collection), V24),
    ("Flush", Some(Collection), V24),
    ("Query", Some(Collection), V24),
    ("LoadBalance", Some(Collection), V24),
    ("Import", Some(Collection), V24),
    ("GetLoadingProgress", Some(Collection), V24),
    ("GetLoadState", Some(Collection), V24),
    ("CreatePartition", Some(Collection), V24),
    ("DropPartition", Some(Collection), V24),
    ("ShowPartitions", Some(Collection), V24),
    ("HasPartition", Some(Collection), V24),
    ("GetFlushState", Some(Collection), V24),
    ("ReadOnly", Some(Collection), V24),
    ("ReadWrite", Some(Collection), V24),
    ("GetImportProgress", Some(Collection), V26),
    ("ListImport", Some(Collection), V26),
    ("AddCollectionField", Some(Collection), V26),
    ("AlterCollectionSchema", Some(Collection), V30),
    ("RefreshExternalCollection", Some(Collection), V30),
    ("CreateSnapshot", Some(Collection), V30),
    ("DropSnapshot", Some(Collection), V30),
    ("DescribeSnapshot", Some(Collection), V30),
    ("RestoreSnapshot", Some(Collection), V30),
    ("ListSnapshots", Some(Collection), V30),
    ("All", Some(Global), V24),
    ("CreateCollection", Some(Global), V24),
    ("DropCollection", Some(Global), V24),
    ("DescribeCollection", Some(Global), V24),
    ("ShowCollections", Some(Global), V24),
    ("RenameCollection", Some(Global), V24),
    ("CreateOwnership", Some(Global), V24),
    ("DropOwnership", Some(Global), V24),
    ("SelectOwnership", Some(Global), V24),
    ("ManageOwnership", Some(Global), V24),
    ("BackupRBAC", Some(Global), V24),
    ("RestoreRBAC", Some(Global), V24),
    ("CreateResourceGroup", Some(Global), V24),
    ("UpdateResourceGroups", Some(Global), V24),
    ("DropResourceGroup", Some(Global), V24),
    ("DescribeResourceGroup", Some(Global), V24),
    ("ListResourceGroups", Some(Global), V24),
    ("TransferReplica", Some(Global), V24),
    ("TransferNode", Some(Global), V24),
    ("FlushAll", Some(Global), V24),
    ("CreateDatabase", Some(Global), V24),
    ("DropDatabase", Some(Global), V24),
    ("ListDatabases", Some(Global), V24),
    ("AlterDatabase", Some(Global), V24),
    ("DescribeDatabase", Some(Global), V24),
    ("CreateAlias", Some(Global), V24),
    ("DropAlias", Some(Global), V24),
    ("DescribeAlias", Some(Global), V24),
    ("ListAliases", Some(Global), V24),
    ("Admin", Some(Global), V24),
    ("CreatePrivilegeGroup", Some(Global), V25),
    ("DropPrivilegeGroup", Some(Global), V25),
    ("ListPrivilegeGroups", Some(Global), V25),
    ("OperatePrivilegeGroup", Some(Global), V25),
    ("ClusterReadOnly", Some(Global), V25),
    ("ClusterReadWrite", Some(Global), V25),
    ("ClusterAdmin", Some(Global), V25),
    ("DatabaseReadOnly", Some(Global), V25),
    ("DatabaseReadWrite", Some(Global), V25),
    ("DatabaseAdmin", Some(Global), V25),
    ("CollectionReadOnly", Some(Global), V25),
    ("CollectionReadWrite", Some(Global), V25),
    ("CollectionAdmin", Some(Global), V25),
    ("UpdateReplicateConfiguration", Some(Global), V26),
    ("PinSnapshotData", Some(Global), V30),
    ("UnpinSnapshotData", Some(Global), V30),
    ("RestoreExternalSnapshot", Some(Global), V30),
    ("ExportSnapshot", Some(Global), V30),
    // 3.0's `PrivilegeExpr` (the /expr endpoint), not yet in milvus-proto's enum: a name of its own.
    ("Expr", Some(Global), V30),
    ("UpdateUser", Some(User), V24),
    ("SelectUser", Some(User), V24),
    ("AddFileResource", None, V26),
    ("RemoveFileResource", None, V26),
    ("ListFileResources", None, V26),
    ("GetReplicateConfiguration", None, V26),
];

/// The legacy groups granted through v1 and expanded at check time (names and members).
const LEGACY_GROUPS: [&str; 3] = ["ReadOnly", "ReadWrite", "Admin"];

const LEGACY_READ_ONLY: &[(&str, Line)] = &[
    ("Query", V24),
    ("Search", V24),
    ("IndexDetail", V24),
    ("GetFlushState", V24),
    ("GetLoadState", V24),
    ("GetLoadingProgress", V24),
    ("HasPartition", V24),
    ("ShowPartitions", V24),
    ("ShowCollections", V24),
    ("ListAliases", V24),
    ("ListDatabases", V24),
    ("DescribeCollection", V24),
    ("DescribeDatabase", V24),
    ("DescribeAlias", V24),
    ("GetStatistics", V24),
    ("DescribeSnapshot", V30),
    ("ListSnapshots", V30),
];

const LEGACY_READ_WRITE_EXTRA: &[(&str, Line)] = &[
    ("CreateIndex", V24),
    ("DropIndex", V24),
    ("CreatePartition", V24),
    ("DropPartition", V24),
    ("Load", V24),
    ("Release", V24),
    ("Insert", V24),
    ("Delete", V24),
    ("Upsert", V24),
    ("Import", V24),
    ("Flush", V24),
    ("Compaction", V24),
    ("LoadBalance", V24),
    ("RenameCollection", V24),
    ("CreateAlias", V24),
    ("DropAlias", V24),
    ("CreateSnapshot", V30),
    ("DropSnapshot", V30),
    ("RefreshExternalCollection", V30),
];

const LEGACY_ADMIN_EXTRA: &[(&str, Line)] = &[
    ("CreateCollection", V24),
    ("DropCollection", V24),
    ("CreateOwnership", V24),
    ("DropOwnership", V24),
    ("SelectOwnership", V24),
    ("ManageOwnership", V24),
    ("SelectUser", V24),
    ("UpdateUser", V24),
    ("BackupRBAC", V24),
    ("RestoreRBAC", V24),
    ("CreateResourceGroup", V24),
    ("UpdateResourceGroups", V24),
    ("DropResourceGroup", V24),
    ("DescribeResourceGroup", V24),
    ("ListResourceGroups", V24),
    ("TransferReplica", V24),
    ("TransferNode", V24),
    ("CreateDatabase", V24),
    ("DropDatabase", V24),
    ("AlterDatabase", V24),
    ("UpdateReplicateConfiguration", V26),
    ("RestoreSnapshot", V30),
    ("ExportSnapshot", V30),
    ("RestoreExternalSnapshot", V30),
    ("PinSnapshotData", V30),
    ("UnpinSnapshotData", V30),
];

/// Members a group lost in a line: (group, member, the line without it). Milvus 3.0 made RenameCollection a
/// database-level privilege: it left the legacy ReadWrite group (Admin keeps it) and ClusterAdmin, and joined
/// DatabaseAdmin.
const REMOVED_MEMBERS: &[(&str, &str, Line)] = &[
    ("ReadWrite", "RenameCollection", V30),
    ("ClusterAdmin", "RenameCollection", V30),
];

/// A built-in group: its name, level, the group it extends, and the members it adds, in Milvus's order.
struct BuiltinGroupDef {
    name: &'static str,
    level: Level,
    extends: Option<&'static str>,
    adds: &'static [(&'static str, Line)],
}

/// The nine built-in groups (Milvus 2.5+), in the order `list_privilege_groups` returns them.
const BUILTIN_GROUPS: &[BuiltinGroupDef] = &[
    BuiltinGroupDef {
        name: "ClusterReadOnly",
        level: Level::Cluster,
        extends: None,
        adds: &[
            ("ListDatabases", V25),
            ("SelectOwnership", V25),
            ("SelectUser", V25),
            ("DescribeResourceGroup", V25),
            ("ListResourceGroups", V25),
            ("ListPrivilegeGroups", V25),
            ("GetReplicateConfiguration", V26),
            ("ListFileResources", V30),
        ],
    },
    BuiltinGroupDef {
        name: "ClusterReadWrite",
        level: Level::Cluster,
        extends: Some("ClusterReadOnly"),
        adds: &[
            ("FlushAll", V25),
            ("TransferNode", V25),
            ("TransferReplica", V25),
            ("UpdateResourceGroups", V25),
            ("AddFileResource", V30),
            ("RemoveFileResource", V30),
            ("PinSnapshotData", V30),
            ("UnpinSnapshotData", V30),
        ],
    },
    BuiltinGroupDef {
        name: "ClusterAdmin",
        level: Level::Cluster,
        extends: Some("ClusterReadWrite"),
        adds: &[
            ("BackupRBAC", V25),
            ("RestoreRBAC", V25),
            ("CreateDatabase", V25),
            ("DropDatabase", V25),
            ("CreateOwnership", V25),
            ("DropOwnership", V25),
            ("ManageOwnership", V25),
            ("CreateResourceGroup", V25),
            ("DropResourceGroup", V25),
            ("UpdateUser", V25),
            ("RenameCollection", V25),
            ("CreatePrivilegeGroup", V25),
            ("DropPrivilegeGroup", V25),
            ("OperatePrivilegeGroup", V25),
            ("UpdateReplicateConfiguration", V26),
            ("Expr", V30),
            ("RestoreExternalSnapshot", V30),
            ("ExportSnapshot", V30),
        ],
    },
    BuiltinGroupDef {
        name: "DatabaseReadOnly",
        level: Level::Database,
        extends: None,
        adds: &[("ShowCollections", V25), ("DescribeDatabase", V25)],
    },
    BuiltinGroupDef {
        name: "DatabaseReadWrite",
        level: Level::Database,
        extends: Some("DatabaseReadOnly"),
        adds: &[("AlterDatabase", V25)],
    },
    BuiltinGroupDef {
        name: "DatabaseAdmin",
        level: Level::Database,
        extends: Some("DatabaseReadWrite"),
        adds: &[
            ("CreateCollection", V25),
            ("DropCollection", V25),
            ("RenameCollection", V30),
        ],
    },
    BuiltinGroupDef {
        name: "CollectionReadOnly",
        level: Level::Collection,
        extends: None,
        adds: &[
            ("Query", V25),
            ("Search", V25),
            ("IndexDetail", V25),
            ("GetFlushState", V25),
            ("GetLoadState", V25),
            ("GetLoadingProgress", V25),
            ("HasPartition", V25),
            ("ShowPartitions", V25),
            ("DescribeCollection", V25),
            ("DescribeAlias", V25),
            ("GetStatistics", V25),
            ("ListAliases", V25),
            ("GetImportProgress", V26),
            ("ListImport", V26),
            ("DescribeSnapshot", V30),
            ("ListSnapshots", V30),
        ],
    },
    BuiltinGroupDef {
        name: "CollectionReadWrite",
        level: Level::Collection,
        extends: Some("CollectionReadOnly"),
        adds: &[
            ("Load", V25),
            ("Release", V25),
            ("Insert", V25),
            ("Delete", V25),
            ("Upsert", V25),
            ("Import", V25),
            ("Flush", V25),
            ("Compaction", V25),
            ("LoadBalance", V25),
            ("CreateIndex", V25),
            ("DropIndex", V25),
            ("CreatePartition", V25),
            ("DropPartition", V25),
            ("AddCollectionField", V26),
            ("AlterCollectionSchema", V30),
            ("RefreshExternalCollection", V30),
            ("CreateSnapshot", V30),
            ("DropSnapshot", V30),
        ],
    },
    BuiltinGroupDef {
        name: "CollectionAdmin",
        level: Level::Collection,
        extends: Some("CollectionReadWrite"),
        adds: &[
            ("CreateAlias", V25),
            ("DropAlias", V25),
            ("RestoreSnapshot", V30),
        ],
    },
];

/// Granting one of these also grants (and revoking revokes) the others, as Milvus's proxy does.
const RELATED_PRIVILEGES: &[(&str, &[&str])] = &[
    ("Load", &["GetLoadState", "GetLoadingProgress"]),
    ("Flush", &["GetFlushState"]),
];

/// A grant every registry starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultGrant {
    pub object_type: ObjectType,
    pub privilege: &'static str,
}

/// The catalog of one Milvus line.
#[derive(Debug)]
pub struct Catalog {
    line: Line,
    /// Whether the line has privilege groups and grant v2 (Milvus 2.5+).
    groups: bool,
    public_grants: &'static [DefaultGrant],
}

fn members_until(
    members: &'static [(&'static str, Line)],
    line: Line,
) -> impl Iterator<Item = &'static str> {
    members
        .iter()
        .filter(move |(_, since)| *since <= line)
        .map(|(name, _)| *name)
}

impl Catalog {
    pub const fn new(line: Line, groups: bool, public_grants: &'static [DefaultGrant]) -> Catalog {
        Catalog {
            line,
            groups,
            public_grants,
        }
    }

    fn privileges(&self) -> impl Iterator<Item = &'static PrivilegeDef> + '_ {
        PRIVILEGES
            .iter()
            .filter(|(_, _, since)| *since <= self.line)
    }

    /// Whether the line has privilege groups and grant v2.
    pub fn has_groups(&self) -> bool {
        self.groups
    }

    /// Milvus's `IsPrivilegeNameDefined`: any privilege or built-in group name of the line.
    pub fn is_defined(&self, name: &str) -> bool {
        self.privileges().any(|(defined, ..)| *defined == name)
    }

    /// Whether v1 grants accept `privilege` on `object_type` (`util.ObjectPrivileges`).
    pub fn is_grantable_on(&self, object_type: ObjectType, privilege: &str) -> bool {
        self.privileges()
            .any(|(name, on, _)| *name == privilege && *on == Some(object_type))
    }

    /// Milvus's `GetObjectType`: the first object type whose list holds the name, else Global.
    pub fn object_type_of(&self, privilege: &str) -> ObjectType {
        self.privileges()
            .find(|(name, on, _)| *name == privilege && on.is_some())
            .and_then(|(_, on, _)| *on)
            .unwrap_or(ObjectType::Global)
    }

    /// Whether `name` is one of the nine built-in groups of this line.
    pub fn is_builtin_group(&self, name: &str) -> bool {
        self.groups && BUILTIN_GROUPS.iter().any(|group| group.name == name)
    }

    /// Whether `name` is a legacy group (`ReadOnly`, `ReadWrite`, `Admin`).
    pub fn is_legacy_group(&self, name: &str) -> bool {
        LEGACY_GROUPS.contains(&name)
    }

    /// The nine built-in groups with their members, in Milvus's order (empty before 2.5).
    pub fn builtin_groups(&self) -> Vec<Group> {
        if !self.groups {
            return Vec::new();
        }
        BUILTIN_GROUPS
            .iter()
            .map(|group| Group {
                name: group.name.to_string(),
                privileges: self.builtin_members(group.name),
            })
            .collect()
    }

    fn builtin_members(&self, name: &str) -> Vec<String> {
        let Some(group) = BUILTIN_GROUPS.iter().find(|group| group.name == name) else {
            return Vec::new();
        };
        let mut members = group
            .extends
            .map(|base| self.builtin_members(base))
            .unwrap_or_default();
        members.extend(members_until(group.adds, self.line).map(str::to_string));
        members.retain(|member| !self.removed_from(name, member));
        members
    }

    /// Whether the built-in group `name` holds `privilege`: `builtin_members` without building the list, as
    /// profile milvus-3.0 asks it on every authorization.
    fn builtin_holds(&self, name: &str, privilege: &str) -> bool {
        let Some(group) = BUILTIN_GROUPS.iter().find(|group| group.name == name) else {
            return false;
        };
        !self.removed_from(name, privilege)
            && (members_until(group.adds, self.line).any(|member| member == privilege)
                || group
                    .extends
                    .is_some_and(|base| self.builtin_holds(base, privilege)))
    }

    /// Whether `group` no longer holds `member` in this line.
    fn removed_from(&self, group: &str, member: &str) -> bool {
        REMOVED_MEMBERS.iter().any(|(from, removed, since)| {
            *from == group && *removed == member && *since <= self.line
        })
    }

    /// The members of a built-in group, or `None` if `name` is not one.
    pub fn builtin_group(&self, name: &str) -> Option<Vec<String>> {
        self.is_builtin_group(name)
            .then(|| self.builtin_members(name))
    }

    /// The members of a legacy group, or `None` if `name` is not one.
    pub fn legacy_group(&self, name: &str) -> Option<Vec<&'static str>> {
        // Each group holds the one before it and adds its own.
        let parts: &[&'static [(&'static str, Line)]] = match name {
            "ReadOnly" => &[LEGACY_READ_ONLY],
            "ReadWrite" => &[LEGACY_READ_ONLY, LEGACY_READ_WRITE_EXTRA],
            "Admin" => &[
                LEGACY_READ_ONLY,
                LEGACY_READ_WRITE_EXTRA,
                LEGACY_ADMIN_EXTRA,
            ],
            _ => return None,
        };
        Some(
            parts
                .iter()
                .flat_map(|part| members_until(part, self.line))
                .filter(|member| !self.removed_from(name, member))
                .collect(),
        )
    }

    /// Milvus's `GetPrivilegeLevel`: the first of Cluster, Database, Collection whose admin group holds the
    /// privilege.
    pub fn level_of(&self, privilege: &str) -> Option<Level> {
        [
            ("ClusterAdmin", Level::Cluster),
            ("DatabaseAdmin", Level::Database),
            ("CollectionAdmin", Level::Collection),
        ]
        .into_iter()
        .find(|(group, _)| self.builtin_holds(group, privilege))
        .map(|(_, level)| level)
    }

    /// The level of a built-in group.
    pub fn builtin_group_level(&self, name: &str) -> Option<Level> {
        BUILTIN_GROUPS
            .iter()
            .find(|group| group.name == name)
            .map(|group| group.level)
    }

    /// The privileges granted along with `privilege`.
    pub fn related(&self, privilege: &str) -> &'static [&'static str] {
        RELATED_PRIVILEGES
            .iter()
            .find(|(name, _)| *name == privilege)
            .map_or(&[], |(_, related)| related)
    }

    /// The grants `public` starts with (all on `*` in database `*`, granted by root).
    pub fn public_grants(&self) -> &'static [DefaultGrant] {
        self.public_grants
    }
}

/// Milvus 2.4 as a 2.3.5 server was seen to start: public may describe and list collections and see indexes.
pub static CATALOG_24: Catalog = Catalog::new(
    V24,
    false,
    &[
        DefaultGrant {
            object_type: Collection,
            privilege: "IndexDetail",
        },
        DefaultGrant {
            object_type: Global,
            privilege: "DescribeCollection",
        },
        DefaultGrant {
            object_type: Global,
            privilege: "ShowCollections",
        },
    ],
);

const PUBLIC_GRANTS_25: &[DefaultGrant] = &[
    DefaultGrant {
        object_type: Collection,
        privilege: "IndexDetail",
    },
    DefaultGrant {
        object_type: Global,
        privilege: "DescribeCollection",
    },
    DefaultGrant {
        object_type: Global,
        privilege: "ListAliases",
    },
];

pub static CATALOG_25: Catalog = Catalog::new(V25, true, PUBLIC_GRANTS_25);
pub static CATALOG_26: Catalog = Catalog::new(V26, true, PUBLIC_GRANTS_25);
pub static CATALOG_30: Catalog = Catalog::new(V30, true, PUBLIC_GRANTS_25);

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(catalog: &Catalog) -> Vec<usize> {
        catalog
            .builtin_groups()
            .iter()
            .map(|group| group.privileges.len())
            .collect()
    }

    #[test]
    fn builtin_group_sizes_match_milvus() {
        assert_eq!(sizes(&CATALOG_25), [6, 10, 24, 2, 3, 5, 12, 25, 27]);
        assert_eq!(sizes(&CATALOG_26), [7, 11, 26, 2, 3, 5, 14, 28, 30]);
        // Milvus 3.0 (the 3.0 branch after the v3.0.0 version bump): snapshots, external collections, file
        // resources, Expr; RenameCollection moved from ClusterAdmin to DatabaseAdmin.
        assert_eq!(sizes(&CATALOG_30), [8, 16, 33, 2, 3, 6, 16, 34, 37]);
        assert!(CATALOG_24.builtin_groups().is_empty());
    }

    #[test]
    fn object_privilege_lists_match_milvus() {
        let count = |catalog: &Catalog, object_type| {
            catalog
                .privileges()
                .filter(|(_, on, _)| *on == Some(object_type))
                .count()
        };
        assert_eq!(
            [Collection, Global, User].map(|t| count(&CATALOG_24, t)),
            [24, 30, 2]
        );
        assert_eq!(
            [Collection, Global, User].map(|t| count(&CATALOG_25, t)),
            [24, 43, 2]
        );
        assert_eq!(
            [Collection, Global, User].map(|t| count(&CATALOG_26, t)),
            [27, 44, 2]
        );
        assert_eq!(
            [Collection, Global, User].map(|t| count(&CATALOG_30, t)),
            [34, 49, 2]
        );
    }

    /// Found by mutation testing: what only the conformance cases (outside `--lib`) checked.
    #[test]
    fn groups_by_line_their_levels_and_object_type_names() {
        assert!(!CATALOG_24.has_groups());
        assert!(CATALOG_25.has_groups() && CATALOG_26.has_groups() && CATALOG_30.has_groups());
        let levels: Vec<Option<Level>> = CATALOG_26
            .builtin_groups()
            .iter()
            .map(|group| CATALOG_26.builtin_group_level(&group.name))
            .collect();
        use Level::{Cluster, Collection as Coll, Database};
        assert_eq!(
            levels,
            [Cluster, Cluster, Cluster, Database, Database, Database, Coll, Coll, Coll].map(Some)
        );
        assert_eq!(CATALOG_26.builtin_group_level("ReadOnly"), None);
        assert_eq!(
            ObjectType::ALL.map(|t| t.to_string()),
            ["Collection", "Global", "User"]
        );
    }

    #[test]
    fn related_privileges_and_public_grants() {
        assert_eq!(
            CATALOG_26.related("Load"),
            ["GetLoadState", "GetLoadingProgress"]
        );
        assert_eq!(CATALOG_26.related("Flush"), ["GetFlushState"]);
        assert!(CATALOG_26.related("Search").is_empty());
        let public = |catalog: &Catalog| {
            catalog
                .public_grants()
                .iter()
                .map(|grant| (grant.object_type, grant.privilege))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            public(&CATALOG_24),
            [
                (Collection, "IndexDetail"),
                (Global, "DescribeCollection"),
                (Global, "ShowCollections")
            ]
        );
        for catalog in [&CATALOG_25, &CATALOG_26, &CATALOG_30] {
            assert_eq!(
                public(catalog),
                [
                    (Collection, "IndexDetail"),
                    (Global, "DescribeCollection"),
                    (Global, "ListAliases")
                ]
            );
        }
    }

    /// `builtin_holds` answers as a search of `builtin_members`, for every group and privilege of every line.
    #[test]
    fn membership_without_lists_agrees_with_the_lists() {
        for catalog in [&CATALOG_24, &CATALOG_25, &CATALOG_26, &CATALOG_30] {
            for group in BUILTIN_GROUPS {
                let members = catalog.builtin_members(group.name);
                for other in BUILTIN_GROUPS {
                    for privilege in catalog.builtin_members(other.name) {
                        assert_eq!(
                            catalog.builtin_holds(group.name, &privilege),
                            members.contains(&privilege),
                            "{} {privilege}",
                            group.name
                        );
                    }
                }
            }
            assert!(!catalog.builtin_holds("NoSuchGroup", "Search"));
        }
        // A member a later line removed is not held; one a group extends is.
        assert!(CATALOG_26.builtin_holds("ClusterAdmin", "RenameCollection"));
        assert!(!CATALOG_30.builtin_holds("ClusterAdmin", "RenameCollection"));
        assert!(CATALOG_30.builtin_holds("DatabaseAdmin", "RenameCollection"));
        assert!(CATALOG_30.builtin_holds("DatabaseAdmin", "ShowCollections"));
    }

    #[test]
    fn levels_and_object_types() {
        assert_eq!(CATALOG_25.level_of("UpdateUser"), Some(Level::Cluster));
        assert_eq!(
            CATALOG_25.level_of("ShowCollections"),
            Some(Level::Database)
        );
        assert_eq!(CATALOG_25.level_of("Search"), Some(Level::Collection));
        assert_eq!(CATALOG_25.level_of("All"), None);
        assert_eq!(CATALOG_25.object_type_of("Search"), Collection);
        assert_eq!(CATALOG_25.object_type_of("UpdateUser"), User);
        assert_eq!(CATALOG_25.object_type_of("CollectionReadOnly"), Global);
        assert_eq!(CATALOG_26.object_type_of("ListFileResources"), Global);
        assert!(CATALOG_26.is_defined("ListFileResources"));
        assert!(!CATALOG_25.is_defined("ListFileResources"));
    }

    #[test]
    fn legacy_groups() {
        assert_eq!(CATALOG_24.legacy_group("ReadOnly").unwrap().len(), 15);
        assert_eq!(CATALOG_24.legacy_group("ReadWrite").unwrap().len(), 31);
        let admin = CATALOG_24.legacy_group("Admin").unwrap();
        assert!(admin.contains(&"ManageOwnership") && admin.contains(&"Search"));
        assert!(CATALOG_26
            .legacy_group("Admin")
            .unwrap()
            .contains(&"UpdateReplicateConfiguration"));
        // 3.0: RenameCollection left ReadWrite, not Admin.
        let read_write = CATALOG_30.legacy_group("ReadWrite").unwrap();
        assert!(
            !read_write.contains(&"RenameCollection") && read_write.contains(&"CreateSnapshot")
        );
        assert!(CATALOG_26
            .legacy_group("ReadWrite")
            .unwrap()
            .contains(&"RenameCollection"));
        assert!(CATALOG_30
            .legacy_group("Admin")
            .unwrap()
            .contains(&"RenameCollection"));
    }

    #[test]
    fn rename_collection_is_a_database_privilege_in_3_0() {
        assert_eq!(
            CATALOG_26.level_of("RenameCollection"),
            Some(Level::Cluster)
        );
        assert_eq!(
            CATALOG_30.level_of("RenameCollection"),
            Some(Level::Database)
        );
        assert_eq!(CATALOG_30.level_of("Expr"), Some(Level::Cluster));
        assert!(CATALOG_30.is_grantable_on(Global, "Expr"));
        assert!(!CATALOG_30.is_grantable_on(Global, "Search"));
        assert!(!CATALOG_30.is_grantable_on(Collection, "NoSuchPrivilege"));
        assert!(CATALOG_30.is_grantable_on(Collection, "Search"));
        assert!(!CATALOG_26.is_defined("ExportSnapshot"));
        for master_only in ["ImportBinlog", "SkipRLS", "ViewRLS", "ManageRLS"] {
            assert!(!CATALOG_30.is_defined(master_only), "{master_only}");
        }
    }
}
