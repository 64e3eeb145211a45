package org.graphprofile.neo4jtestserver;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * An in-process Neo4j 5.26 community server for graphprofile's tests (neo4j-harness), with
 * APOC core and the open-source Graph Data Science procedures.
 *
 * <p>Usage: {@code java [JVM flags] -cp CLASSPATH org.graphprofile.neo4jtestserver.Neo4jTestServer
 * --port PORT --data DIR --plugins DIR [--pagecache BYTES]}, with the password of user
 * {@code neo4j} in the environment variable {@code NEO4J_PASSWORD} (8 characters or more; it
 * never appears in the arguments or the output).
 *
 * <p>Bolt listens on 127.0.0.1:PORT with authentication on and no TLS; HTTP is off. The
 * databases live in DIR, so a server killed with {@code kill -9} comes back with what was
 * committed when it is started again on the same DIR. The procedures gds.* and apoc.* are
 * unrestricted. Once the password is set and {@code gds.version()} and {@code apoc.version()}
 * answer, one line is printed: {@code neo4j-test-server ready: bolt://127.0.0.1:PORT ...}.
 * SIGTERM (or Ctrl-C) shuts the database down cleanly.
 */
public final class Neo4jTestServer {
    private Neo4jTestServer() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        int port = Integer.parseInt(required(opts, "--port"));
        Path data = Path.of(required(opts, "--data")).toAbsolutePath();
        Path plugins = Path.of(required(opts, "--plugins")).toAbsolutePath();
        long pagecache = Long.parseLong(opts.getOrDefault("--pagecache", String.valueOf(256L << 20)));
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            fail("set NEO4J_PASSWORD (8 characters or more) in the environment");
        }
        if (!Files.isDirectory(plugins)) {
            fail("plugins directory " + plugins + " does not exist; build with mvn package");
        }
        Files.createDirectories(data);
        Path work = data.resolveSibling(data.getFileName() + "-harness");
        Files.createDirectories(work);

        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(work)
                .withDisabledServer()
                .withConfig(GraphDatabaseSettings.data_directory, data)
                .withConfig(GraphDatabaseSettings.plugin_dir, plugins)
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                .withConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("gds.*", "apoc.*"))
                .withConfig(GraphDatabaseSettings.pagecache_memory, pagecache)
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            neo4j.close();
            System.out.println("neo4j-test-server stopped");
            System.out.flush();
            stopped.countDown();
        }, "neo4j-test-server-shutdown"));

        String ready;
        try {
            ready = prepare(neo4j, port, password);
        } catch (RuntimeException e) {
            e.printStackTrace();
            System.err.println("neo4j-test-server: " + e.getMessage());
            System.exit(1); // the shutdown hook closes the database
            return;
        }
        System.out.println(ready);
        System.out.flush();
        stopped.await();
    }

    /** Sets the password, checks that GDS and APOC answer, and returns the ready line. */
    private static String prepare(Neo4j neo4j, int port, String password) {
        GraphDatabaseService system = neo4j.databaseManagementService().database("system");
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (QueryExecutionException e) {
            // a restart on the same data with the same password: nothing to change
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
        GraphDatabaseService db = neo4j.defaultDatabaseService();
        String gds = db.executeTransactionally(
                "CALL gds.version() YIELD gdsVersion RETURN gdsVersion", Map.of(),
                result -> String.valueOf(result.next().get("gdsVersion")));
        String apoc = db.executeTransactionally(
                "RETURN apoc.version() AS v", Map.of(), result -> String.valueOf(result.next().get("v")));
        String kernel = db.executeTransactionally(
                "CALL dbms.components() YIELD versions RETURN versions[0] AS v", Map.of(),
                result -> String.valueOf(result.next().get("v")));
        return "neo4j-test-server ready: bolt://127.0.0.1:" + port + " neo4j=" + kernel + " apoc=" + apoc
                + " gds=" + gds;
    }

    private static Map<String, String> parse(String[] args) {
        if (args.length % 2 != 0) {
            fail("usage: --port PORT --data DIR --plugins DIR [--pagecache BYTES]");
        }
        java.util.HashMap<String, String> out = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            out.put(args[i], args[i + 1]);
        }
        return out;
    }

    private static String required(Map<String, String> opts, String key) {
        String value = opts.get(key);
        if (value == null) {
            fail("missing " + key + " (usage: --port PORT --data DIR --plugins DIR [--pagecache BYTES])");
        }
        return value;
    }

    private static void fail(String message) {
        System.err.println("neo4j-test-server: " + message);
        System.exit(2);
    }
}
