package canary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import canary.common.Waits;

/**
 * A real Prometheus server (Debian's {@code /usr/bin/prometheus}) of a test: its own process, with a config in a temporary
 * folder that scrapes the given targets every second, its data in that folder, listening on a loopback port; stopped by
 * its pid (SIGTERM, then SIGKILL). Never the Debian service.
 */
final class PrometheusServer implements AutoCloseable {

    final int port;
    final Path dir;
    private final Process process;

    private PrometheusServer(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    static boolean installed() {
        for (String p : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(p, "prometheus"))) {
                return true;
            }
        }
        return false;
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts Prometheus on loopback {@code port}, scraping {@code targets} (job name → host:port) every second; returns once it is ready. */
    static PrometheusServer start(Path dir, int port, Map<String, String> targets) throws IOException {
        Files.createDirectories(dir);
        StringBuilder config = new StringBuilder("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
        targets.forEach((job, target) -> config.append("  - job_name: ").append(job).append("\n    static_configs:\n      - targets: ['")
                .append(target).append("']\n"));
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        Process p = new ProcessBuilder(List.of("prometheus", "--config.file=" + file, "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port, "--log.level=warn"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        PrometheusServer server = new PrometheusServer(dir, port, p);
        try {
            HttpClient http = HttpClient.newHttpClient();
            Waits.until("prometheus on 127.0.0.1:" + port + " is ready", Duration.ofSeconds(30), Waits.quiet(), () -> {
                if (!p.isAlive()) {
                    throw new IllegalStateException("prometheus exited " + p.exitValue() + ": " + log(dir));
                }
                try {
                    return http.send(HttpRequest.newBuilder(URI.create(server.url() + "/-/ready")).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("prometheus.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** SIGTERM to the process this test started, up to 10 s, then SIGKILL. */
    static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(process);
    }
}
