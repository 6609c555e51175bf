package rbac;

import io.milvus.v2.client.ConnectConfig;
import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.service.rbac.request.DescribeUserReq;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls per second of the Java SDK against a server, for benches/grpc_bench.py (not a test):
 *
 * <pre>java -cp target/walkthrough.jar rbac.CallRate &lt;host:port&gt; &lt;token&gt; &lt;seconds&gt; &lt;threads&gt;</pre>
 *
 * Each thread opens its own {@code MilvusClientV2} and alternates describeUser("root") and listRoles() until the
 * time is up (after one warm-up second). Prints one JSON object: calls, failures, seconds, calls_per_second.
 */
public final class CallRate {
    private CallRate() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: java -cp walkthrough.jar rbac.CallRate <host:port> <token> <seconds> <threads>");
            System.exit(2);
        }
        String address = args[0];
        String token = args[1];
        double seconds = Double.parseDouble(args[2]);
        int threads = Integer.parseInt(args[3]);
        List<MilvusClientV2> clients = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            clients.add(new MilvusClientV2(ConnectConfig.builder()
                    .uri("http://" + address).token(token).rpcDeadlineMs(10_000).build()));
        }
        AtomicLong calls = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        long warmEnd = System.nanoTime() + 1_000_000_000L;
        long end = warmEnd + (long) (seconds * 1e9);
        List<Thread> workers = new ArrayList<>();
        DescribeUserReq describeRoot = DescribeUserReq.builder().userName("root").build();
        for (MilvusClientV2 client : clients) {
            Thread worker = new Thread(() -> {
                boolean flip = false;
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) {
                        return;
                    }
                    try {
                        if (flip) {
                            client.listRoles();
                        } else {
                            client.describeUser(describeRoot);
                        }
                        if (now >= warmEnd) {
                            calls.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        failures.incrementAndGet();
                    }
                    flip = !flip;
                }
            });
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        for (MilvusClientV2 client : clients) {
            client.close(1);
        }
        System.out.printf("{\"calls\": %d, \"failures\": %d, \"seconds\": %s, \"calls_per_second\": %.1f}%n",
                calls.get(), failures.get(), seconds, calls.get() / seconds);
        System.exit(0);
    }
}
