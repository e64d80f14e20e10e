package canary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import canary.engine.ksqldb.KsqlClient;

/**
 * A local HTTP server that stands in for ksqlDB: it answers each request with the next scripted
 * answer for its method and path (documented ksqlDB JSON, see {@link KsqlFixtures}) and records
 * every request (method, path, headers, body) so tests can assert what the client sent.
 * A request with no scripted answer gets a 404 {@code generic_error}.
 */
final class KsqlReplayServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as the server received it; header names are lower-case. */
    record Recorded(String method, String path, Map<String, List<String>> headers, String body) {

        String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? null : values.get(0);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The {@code ksql} field of a {@code /ksql} request. */
        String ksql() {
            return json().path("ksql").asText();
        }
    }

    private record Scripted(int status, String body) {
    }

    private final HttpServer server;
    private final Map<String, Deque<Scripted>> script = new HashMap<>();
    private final List<Recorded> requests = new ArrayList<>();

    KsqlReplayServer() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.start();
    }

    /** The base URI, for example {@code http://127.0.0.1:41234}. */
    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Queues an answer for the next request with this method and path. */
    synchronized KsqlReplayServer reply(String method, String path, int status, String json) {
        script.computeIfAbsent(method + " " + path, k -> new ArrayDeque<>()).add(new Scripted(status, json));
        return this;
    }

    /** Queues a 200 answer to the next {@code POST /ksql}. */
    KsqlReplayServer ksql(String json) {
        return reply("POST", "/ksql", 200, json);
    }

    /** Every request received so far, in order. */
    synchronized List<Recorded> requests() {
        return List.copyOf(requests);
    }

    /** The last request received. */
    synchronized Recorded last() {
        if (requests.isEmpty()) {
            throw new AssertionError("the replay server received no request");
        }
        return requests.get(requests.size() - 1);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Map<String, List<String>> headers = new TreeMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        Scripted answer;
        synchronized (this) {
            requests.add(new Recorded(method, path, headers, body));
            Deque<Scripted> queue = script.get(method + " " + path);
            answer = queue == null || queue.isEmpty()
                    ? new Scripted(404, "{\"@type\":\"generic_error\",\"error_code\":40400,"
                            + "\"message\":\"replay server: nothing scripted for " + method + " " + path + "\"}")
                    : queue.poll();
        }
        byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", KsqlClient.MEDIA_TYPE);
        exchange.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
