package canary;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import canary.common.Waits;

/**
 * Debian's headless Chromium, driven through its DevTools protocol over a WebSocket ({@code java.net.http}): one page, whose
 * DOM the test reads with {@code Runtime.evaluate} and whose pixels it saves with {@code Page.captureScreenshot}.
 */
final class Chromium implements AutoCloseable {

    static final Path BINARY = Path.of("/usr/bin/chromium");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    private Chromium(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    /** Starts Chromium on {@code url} with a fresh profile in {@code profile} and connects to that page. */
    static Chromium open(String url, Path profile) throws Exception {
        Files.createDirectories(profile);
        List<String> cmd = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,1100", "--remote-debugging-port=0",
                "--user-data-dir=" + profile, url));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            Waits.until("Chromium's DevToolsActivePort", Duration.ofSeconds(30), Waits.quiet(),
                    () -> Files.exists(portFile) && lines(portFile).size() >= 2);
            int port = Integer.parseInt(lines(portFile).get(0).trim());
            HttpClient http = HttpClient.newHttpClient();
            String[] page = new String[1];
            Waits.until("Chromium's page target for " + url, Duration.ofSeconds(30), Waits.quiet(), () -> {
                try {
                    JsonNode list = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                            HttpResponse.BodyHandlers.ofString()).body());
                    for (JsonNode t : list) {
                        if (t.path("type").asText().equals("page")) {
                            page[0] = t.get("webSocketDebuggerUrl").asText();
                            return true;
                        }
                    }
                    return false;
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Chromium[] self = new Chromium[1];
            StringBuilder partial = new StringBuilder();
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(page[0]), new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                        String message = partial.toString();
                        partial.setLength(0);
                        self[0].received(message);
                    }
                    webSocket.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            self[0] = new Chromium(p, ws);
            return self[0];
        } catch (Exception | Error e) {
            p.destroyForcibly();
            throw e;
        }
    }

    private static List<String> lines(Path f) {
        try {
            return Files.readAllLines(f);
        } catch (IOException e) {
            return List.of();
        }
    }

    private void received(String message) {
        try {
            JsonNode n = JSON.readTree(message);
            if (n.has("id")) {
                CompletableFuture<JsonNode> f = pending.remove(n.get("id").asInt());
                if (f != null) {
                    if (n.has("error")) {
                        f.completeExceptionally(new IllegalStateException("DevTools: " + n.get("error")));
                    } else {
                        f.complete(n.get("result"));
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends one DevTools command and waits for its result. */
    JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        ObjectNode m = JSON.createObjectNode().put("id", id).put("method", method);
        m.set("params", params == null ? JSON.createObjectNode() : params);
        socket.sendText(JSON.writeValueAsString(m), true).get(30, TimeUnit.SECONDS);
        return f.get(30, TimeUnit.SECONDS);
    }

    /** The value of a JavaScript expression in the page (strings, numbers, booleans; null for undefined). */
    String evaluate(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", JSON.createObjectNode().put("expression", expression).put("returnByValue", true));
        JsonNode v = r.path("result").path("value");
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    /** The text of the element with id {@code id}, or null when there is none. */
    String text(String id) throws Exception {
        return evaluate("(function(){const e=document.getElementById('" + id + "');return e?e.textContent:null;})()");
    }

    /** A stable id of the loaded document: it changes when the page is reloaded or replaced. */
    String documentId() throws Exception {
        return evaluate("window.__canaryDocumentId || (window.__canaryDocumentId = String(Math.random()))");
    }

    /** Saves what the page shows as a PNG. */
    void screenshot(Path file) throws Exception {
        JsonNode r = call("Page.captureScreenshot", JSON.createObjectNode().put("format", "png").put("captureBeyondViewport", true));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, Base64.getDecoder().decode(r.get("data").asText()));
    }

    @Override
    public void close() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the process goes anyway
        }
        PrometheusServer.stop(process);
    }
}
