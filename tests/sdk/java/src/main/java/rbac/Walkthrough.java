package rbac;

import io.milvus.v2.client.ConnectConfig;
import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.client.RetryConfig;
import io.milvus.v2.exception.MilvusClientException;
import io.milvus.v2.service.rbac.request.CreateRoleReq;
import io.milvus.v2.service.rbac.request.CreateUserReq;
import io.milvus.v2.service.rbac.request.DescribeRoleReq;
import io.milvus.v2.service.rbac.request.DescribeUserReq;
import io.milvus.v2.service.rbac.request.DropRoleReq;
import io.milvus.v2.service.rbac.request.DropUserReq;
import io.milvus.v2.service.rbac.request.GrantRoleReq;
import io.milvus.v2.service.rbac.request.RevokeRoleReq;
import io.milvus.v2.service.rbac.request.UpdatePasswordReq;
import io.milvus.v2.service.rbac.response.DescribeUserResp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Milvus's "Create Users & Roles" walk-through through the Milvus Java SDK ({@code MilvusClientV2}).
 *
 * <pre>java -jar target/walkthrough.jar &lt;host:port&gt; &lt;root-token&gt; [prefix] [timeout-ms]</pre>
 *
 * Every user and role it creates is named {@code <prefix><name>} (user_1, role_a, 1bad), so it can run on a shared
 * server, and it drops them at the end. Names in the report are given without the prefix, and lists keep only the
 * built-in names and this run's names; use a prefix that sorts after "root" (e.g. "zjava_") so that the lists' order
 * is the bare names' order.
 *
 * Output: one JSON object per line, one per step: {"step", "result", "error"}. "error" is what the SDK threw: for a
 * MilvusClientException its SDK error code, the server's code and legacy code, and its message; else the class and
 * message. The program exits 0 whatever the server answers; it stops early ("abort") when a call finds no server.
 */
public final class Walkthrough {
    private static final String USER = "user_1";
    private static final String ROLE = "role_a";
    private static final String INVALID = "1bad";
    private static final Set<String> BUILT_IN = Set.of("root", "admin", "public");

    private final String address;
    private final String prefix;
    private final long timeoutMs;
    private boolean stopped;

    private Walkthrough(String address, String prefix, long timeoutMs) {
        this.address = address;
        this.prefix = prefix;
        this.timeoutMs = timeoutMs;
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: java -jar walkthrough.jar <host:port> <root-token> [prefix] [timeout-ms]");
            System.exit(2);
        }
        String prefix = args.length > 2 ? args[2] : "";
        long timeoutMs = args.length > 3 ? Long.parseLong(args[3]) : 5000;
        new Walkthrough(args[0], prefix, timeoutMs).run(args[1]);
        // gRPC's threads must not keep the JVM alive.
        System.exit(0);
    }

    /** A step that may throw, and what it reports when it does not. */
    private interface Call {
        Object run() throws Exception;
    }

    private void run(String rootToken) {
        String user = prefix + USER;
        String role = prefix + ROLE;
        MilvusClientV2 root = open("connect", rootToken);
        if (root == null) {
            return;
        }
        step("create_user", () -> {
            root.createUser(CreateUserReq.builder().userName(user).password("P@ssw0rd").build());
            return null;
        });
        step("update_password", () -> {
            root.updatePassword(UpdatePasswordReq.builder()
                    .userName(user).password("P@ssw0rd").newPassword("NewP@ssw0rd").build());
            return null;
        });
        step("list_users", () -> mine(root.listUsers()));
        step("create_role", () -> {
            root.createRole(CreateRoleReq.builder().roleName(role).build());
            return null;
        });
        step("list_roles", () -> mine(root.listRoles()));
        step("grant_role", () -> {
            root.grantRole(GrantRoleReq.builder().userName(user).roleName(role).build());
            return null;
        });
        step("describe_user", () -> described(root.describeUser(DescribeUserReq.builder().userName(user).build())));
        step("describe_role", () -> root.describeRole(DescribeRoleReq.builder().roleName(role).build())
                .getGrantInfos().size());
        step("invalid_user_name", () -> {
            root.createUser(CreateUserReq.builder().userName(prefix.isEmpty() ? INVALID : INVALID + prefix)
                    .password("P@ssw0rd").build());
            return null;
        });
        MilvusClientV2 wrong = open("wrong_password_connect", user + ":wrong");
        close(wrong);
        MilvusClientV2 member = open("user_connect", user + ":NewP@ssw0rd");
        if (member != null) {
            step("user_describe_self",
                    () -> described(member.describeUser(DescribeUserReq.builder().userName(user).build())));
            // ListCredUsers needs Global/SelectOwnership.
            step("missing_privilege", () -> mine(member.listUsers()));
            close(member);
        }
        step("revoke_role", () -> {
            root.revokeRole(RevokeRoleReq.builder().userName(user).roleName(role).build());
            return null;
        });
        step("drop_role", () -> {
            root.dropRole(DropRoleReq.builder().roleName(role).build());
            return null;
        });
        step("drop_user", () -> {
            root.dropUser(DropUserReq.builder().userName(user).build());
            return null;
        });
        step("list_users_after_cleanup", () -> mine(root.listUsers()));
        step("list_roles_after_cleanup", () -> mine(root.listRoles()));
        close(root);
    }

    /** A client for {@code token}; the constructor connects (Connect RPC), so its failure is the step's error. */
    private MilvusClientV2 open(String name, String token) {
        if (stopped) {
            return null;
        }
        ConnectConfig config = ConnectConfig.builder()
                .uri("http://" + address)
                .token(token)
                .connectTimeoutMs(timeoutMs)
                .rpcDeadlineMs(timeoutMs)
                .build();
        Map<String, Object> record = record(name);
        MilvusClientV2 client = null;
        try {
            client = new MilvusClientV2(config);
            // Bounded runs: the SDK retries some failures; one attempt shows the server's answer as it is.
            client.retryConfig(RetryConfig.builder().maxRetryTimes(1).build());
            record.put("result", "connected");
        } catch (Exception e) {
            record.put("error", errorOf(e));
        }
        emit(record);
        stopIfUnreachable(record, name);
        return client;
    }

    private void step(String name, Call call) {
        if (stopped) {
            return;
        }
        Map<String, Object> record = record(name);
        try {
            record.put("result", call.run());
        } catch (Exception e) {
            record.put("error", errorOf(e));
        }
        emit(record);
        stopIfUnreachable(record, name);
    }

    private static Map<String, Object> record(String name) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("step", name);
        record.put("result", null);
        record.put("error", null);
        return record;
    }

    /** Once a call found no server (the SDK's timeout or unavailable errors), the rest would only wait. */
    private void stopIfUnreachable(Map<String, Object> record, String name) {
        Object error = record.get("error");
        if (error instanceof Map && !stopped) {
            Object message = ((Map<?, ?>) error).get("message");
            String text = message == null ? "" : message.toString();
            if (text.contains("UNAVAILABLE") || text.contains("DEADLINE_EXCEEDED")) {
                stopped = true;
                Map<String, Object> abort = new LinkedHashMap<>();
                abort.put("step", "abort");
                abort.put("reason", name + ": no answer from " + address + ": " + text);
                emit(abort);
            }
        }
    }

    private Map<String, Object> errorOf(Exception e) {
        Map<String, Object> error = new LinkedHashMap<>();
        if (e instanceof MilvusClientException) {
            MilvusClientException milvus = (MilvusClientException) e;
            error.put("sdk_code", milvus.getErrorCode().name());
            error.put("code", milvus.getServerErrCode());
            error.put("legacy_code", milvus.getLegacyServerCode());
        } else {
            error.put("class", e.getClass().getName());
        }
        error.put("message", unprefix(e.getMessage()));
        return error;
    }

    private Map<String, Object> described(DescribeUserResp described) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("user", unprefix(described.getUserName()));
        List<Object> roles = new ArrayList<>();
        for (String role : described.getRoles()) {
            roles.add(unprefix(role));
        }
        result.put("roles", roles);
        return result;
    }

    /** The built-in names and this run's names, unprefixed, in the server's order. */
    private List<Object> mine(List<String> names) {
        List<Object> kept = new ArrayList<>();
        for (String name : names) {
            if (BUILT_IN.contains(name) || prefix.isEmpty() || name.startsWith(prefix)) {
                kept.add(unprefix(name));
            }
        }
        return kept;
    }

    private String unprefix(String text) {
        if (text == null || prefix.isEmpty()) {
            return text;
        }
        return text.replace(prefix + USER, USER).replace(prefix + ROLE, ROLE).replace(INVALID + prefix, INVALID);
    }

    private static void close(MilvusClientV2 client) {
        if (client != null) {
            try {
                client.close(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // JSON, by hand: the report holds only maps, lists, strings, numbers and null.

    private static void emit(Map<String, Object> record) {
        StringBuilder out = new StringBuilder();
        write(out, record);
        System.out.println(out);
        System.out.flush();
    }

    private static void write(StringBuilder out, Object value) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                write(out, entry.getKey().toString());
                out.append(": ");
                write(out, entry.getValue());
            }
            out.append('}');
        } else if (value instanceof List) {
            out.append('[');
            boolean first = true;
            for (Object item : (List<?>) value) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                write(out, item);
            }
            out.append(']');
        } else {
            out.append('"');
            for (char c : value.toString().toCharArray()) {
                switch (c) {
                    case '"': out.append("\\\""); break;
                    case '\\': out.append("\\\\"); break;
                    case '\n': out.append("\\n"); break;
                    case '\r': out.append("\\r"); break;
                    case '\t': out.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                }
            }
            out.append('"');
        }
    }
}
