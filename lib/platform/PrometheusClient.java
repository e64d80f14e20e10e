package canary.platform;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;

import canary.common.Durations;
import canary.common.Json;
import canary.common.Text;
import canary.release.Rollout;

/**
 * Asks a Prometheus server an instant query through its HTTP API ({@code GET /api/v1/query}) for the rollout's metric gates.
 * Every way of not getting exactly one number is a failure with a one-line reason, never a value: an unreachable server, an
 * HTTP or PromQL error, no series, several series, a result that is not a vector or scalar. A NaN or infinite value is
 * returned as such; the rollout refuses it.
 */
public final class PrometheusClient implements Rollout.MetricSource {

    /** The longest a query may take, whatever the command's --timeout: a gate is not worth a long wait. */
    static final Duration MAX_WAIT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Rollout.MetricValue query(String url, String query, Duration timeout) {
        Duration wait = timeout.compareTo(MAX_WAIT) > 0 ? MAX_WAIT : timeout;
        String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        URI uri = URI.create(base + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(wait).header("Accept", "application/json").GET().build();
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return parse(r.statusCode(), r.body());
        } catch (HttpTimeoutException e) {
            return Rollout.MetricValue.failed("no answer from Prometheus at " + url + " within " + Durations.compact(wait));
        } catch (ConnectException e) {
            return Rollout.MetricValue.failed("cannot reach Prometheus at " + url + " (connection refused)");
        } catch (IOException e) {
            return Rollout.MetricValue.failed("cannot reach Prometheus at " + url + " (" + Text.firstLine(String.valueOf(e.getMessage())) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Rollout.MetricValue.failed("interrupted while asking Prometheus at " + url);
        }
    }

    /** The value of one answer of {@code /api/v1/query}: HTTP status and body. */
    public static Rollout.MetricValue parse(int httpStatus, String body) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            root = null;
        }
        if (root == null || !root.isObject() || !root.has("status")) {
            return Rollout.MetricValue.failed((httpStatus == 200 ? "not an answer of the Prometheus query API" : "HTTP " + httpStatus)
                    + (body == null || body.isBlank() ? "" : ": " + shorten(Text.firstLine(body))));
        }
        if (!"success".equals(root.path("status").asText())) {
            return Rollout.MetricValue.failed("Prometheus answered " + root.path("errorType").asText("error") + ": "
                    + Text.firstLine(root.path("error").asText("(no message)")));
        }
        JsonNode data = root.path("data");
        String type = data.path("resultType").asText();
        JsonNode result = data.path("result");
        switch (type) {
            case "scalar":
                return value(result);
            case "vector":
                if (!result.isArray() || result.isEmpty()) {
                    return Rollout.MetricValue.failed("no series: the query matched nothing (no data yet, or a wrong name or label)");
                }
                if (result.size() > 1) {
                    return Rollout.MetricValue.failed(result.size() + " series where one is expected (" + result.get(0).path("metric")
                            + ", " + result.get(1).path("metric") + (result.size() > 2 ? ", ..." : "") + "): aggregate them, e.g. sum(...)");
                }
                return value(result.get(0).path("value"));
            default:
                return Rollout.MetricValue.failed("a " + (type.isEmpty() ? "malformed" : type) + " result where a vector or scalar is"
                        + " expected (an instant query, without a range selector such as [5m] at the end)");
        }
    }

    /** A sample {@code [time, "value"]}; Prometheus writes NaN, +Inf and -Inf as such. */
    private static Rollout.MetricValue value(JsonNode sample) {
        if (!sample.isArray() || sample.size() != 2) {
            return Rollout.MetricValue.failed("a malformed sample: " + shorten(sample.toString()));
        }
        String v = sample.get(1).asText();
        switch (v) {
            case "+Inf":
                return Rollout.MetricValue.of(Double.POSITIVE_INFINITY);
            case "-Inf":
                return Rollout.MetricValue.of(Double.NEGATIVE_INFINITY);
            default:
                try {
                    return Rollout.MetricValue.of(Double.parseDouble(v));
                } catch (NumberFormatException e) {
                    return Rollout.MetricValue.failed("a sample value that is not a number: '" + shorten(v) + "'");
                }
        }
    }

    private static String shorten(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
