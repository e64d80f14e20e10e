package canary.platform;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import com.fasterxml.jackson.core.JsonProcessingException;

import canary.common.Json;
import canary.context.Webhook;
import canary.release.Notifier;

/**
 * The context's webhooks: each event is posted to every webhook at once (JSON or Slack text), and the caller waits at most
 * the longest of their timeouts. A webhook that fails, answers with an error or does not answer in time is logged as one
 * line and never changes the step that caused the event.
 */
public final class Webhooks implements Notifier {

    private final List<Webhook> hooks;
    private final Consumer<String> log;
    private final HttpClient client;

    /** @param log where a failed post is reported, one line each (stderr) */
    public Webhooks(List<Webhook> hooks, Consumer<String> log) {
        this.hooks = List.copyOf(hooks);
        this.log = log;
        this.client = HttpClient.newBuilder().connectTimeout(hooks.stream().map(Webhook::timeout).max(Duration::compareTo)
                .orElse(Duration.ofSeconds(5))).build();
    }

    /** The notifier of a context's webhooks, or {@link Notifier#NONE} when it lists none. */
    public static Notifier of(List<Webhook> hooks, Consumer<String> log) {
        return hooks.isEmpty() ? Notifier.NONE : new Webhooks(hooks, log);
    }

    @Override
    public void post(Event event) {
        Instant start = Instant.now();
        List<CompletableFuture<HttpResponse<Void>>> sent = new ArrayList<>();
        for (Webhook h : hooks) {
            HttpRequest request = HttpRequest.newBuilder(h.url()).timeout(h.timeout()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body(event, h.format()))).build();
            sent.add(client.sendAsync(request, HttpResponse.BodyHandlers.discarding()));
        }
        for (int i = 0; i < hooks.size(); i++) {
            Webhook h = hooks.get(i);
            CompletableFuture<HttpResponse<Void>> f = sent.get(i);
            long left = Math.max(0, h.timeout().toMillis() - Duration.between(start, Instant.now()).toMillis());
            try {
                int code = f.get(left, TimeUnit.MILLISECONDS).statusCode();
                if (code / 100 != 2) {
                    fail(event, h, "it answered HTTP " + code);
                }
            } catch (TimeoutException e) {
                f.cancel(true);
                fail(event, h, "no answer within " + shown(h.timeout()));
            } catch (ExecutionException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                fail(event, h, c instanceof java.net.http.HttpTimeoutException ? "no answer within "
                        + shown(h.timeout()) : c.getClass().getSimpleName()
                        + (c.getMessage() == null ? "" : ": " + canary.common.Text.firstLine(c.getMessage())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail(event, h, "interrupted");
                return;
            }
        }
    }

    /** A timeout as the context file writes it: 2s, 500ms. */
    static String shown(Duration d) {
        return d.toMillis() % 1000 != 0 ? d.toMillis() + "ms" : canary.common.Durations.compact(d);
    }

    private void fail(Event event, Webhook h, String why) {
        log.accept("notification " + event.event().word() + " to " + redacted(h) + " failed: " + why + " (the step goes on)");
    }

    /** The webhook's address without its path and query, which often hold the secret (Slack's do). */
    static String redacted(Webhook h) {
        return h.url().getScheme() + "://" + h.url().getAuthority() + (h.url().getRawPath() == null || h.url().getRawPath().isEmpty() ? "" : "/…");
    }

    /** What a webhook of {@code format} receives for {@code event}. */
    public static String body(Event event, Webhook.Format format) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (format == Webhook.Format.SLACK) {
            m.put("text", event.text());
        } else {
            m.put("event", event.event().word());
            m.put("context", event.context());
            m.put("topic", event.topic());
            m.put("phase", event.phase() == null ? null : event.phase().word());
            m.put("share", event.share());
            m.put("time", event.time().toString());
            m.put("details", event.details());
        }
        try {
            return Json.MAPPER.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
