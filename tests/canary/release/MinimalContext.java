package canary.release;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The smallest context file the kit reads (platform existing, an unreachable bootstrap server, two versions running
 * {@code ./svc}), with the keys a test adds after it: for tests of what the context reader and the release logic do with
 * one key, on no cluster.
 */
public final class MinimalContext {

    private MinimalContext() {
    }

    /** Writes {@code <dir>/ctx.yaml} for context {@code name} of topic {@code orders}, then {@code extraYaml}; returns its path. */
    public static Path write(Path dir, String name, String extraYaml) throws IOException {
        Path f = dir.resolve("ctx.yaml");
        Files.writeString(f, """
                name: %s
                topic: orders
                platform: existing
                kafka:
                  bootstrap_servers: 127.0.0.1:1
                legacy:
                  group: service_v1
                  run: ["./svc"]
                new:
                  group: service_v2
                  run: ["./svc"]
                """.formatted(name) + extraYaml);
        return f;
    }
}
