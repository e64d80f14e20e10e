package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Context;
import canary.context.Webhook;
import canary.platform.LastHealth;
import canary.platform.Webhooks;
import canary.release.MigrationState;
import canary.release.Notifier.Event;
import canary.release.Notifier.Kind;

/** The webhooks against a real HTTP server on loopback, the {@code notifications} key, and the last health status remembers. */
@Tag("fast")
class WebhooksTest {

    @TempDir
    Path dir;

    static final Event EVENT = new Event(Kind.PROMOTE, "orders-demo", "orders", MigrationState.Phase.PROMOTED, 1.0,
            Instant.parse("2030-01-01T10:00:00Z"), Map.of("group", "service_v2"));

    @Test
    void should_post_json_and_slack_and_log_one_line_for_each_webhook_that_fails_or_hangs() throws Exception {
        try (WebhookReceiver r = new WebhookReceiver()) {
            List<String> log = new ArrayList<>();
            Webhooks hooks = new Webhooks(List.of(
                    new Webhook(URI.create(r.url("/json")), Webhook.Format.JSON, Duration.ofSeconds(30)),
                    new Webhook(URI.create(r.url("/slack")), Webhook.Format.SLACK, Duration.ofSeconds(30)),
                    new Webhook(URI.create(r.url("/failing")), Webhook.Format.JSON, Duration.ofSeconds(30)),
                    new Webhook(URI.create(r.hangingUrl() + "?secret=abc"), Webhook.Format.JSON, Duration.ofMillis(300))), log::add);
            Instant start = Instant.now();
            hooks.post(EVENT);
            Duration took = Duration.between(start, Instant.now());

            JsonNode json = new ObjectMapper().readTree(r.bodies("/json").get(0));
            assertEquals("{\"event\":\"promote\",\"context\":\"orders-demo\",\"topic\":\"orders\",\"phase\":\"promoted\",\"share\":1.0,"
                    + "\"time\":\"2030-01-01T10:00:00Z\",\"details\":{\"group\":\"service_v2\"}}", json.toString());
            assertEquals("{\"text\":\"canary-router orders-demo (topic orders): promoted: the new version (service_v2) consumes the topic "
                    + "(phase promoted, 2030-01-01T10:00:00Z)\"}", r.bodies("/slack").get(0));
            assertEquals(2, log.size(), log.toString());
            assertTrue(log.get(0).matches("notification promote to http://127\\.0\\.0\\.1:\\d+/… failed: it answered HTTP 500 \\(the step goes on\\)"),
                    log.get(0));
            assertTrue(log.get(1).matches("notification promote to http://127\\.0\\.0\\.1:\\d+/… failed: no answer within 300ms \\(the step goes on\\)"),
                    log.get(1));
            assertFalse(String.join("\n", log).contains("secret"), "the path and query of a webhook (its secret) are not logged");
            // Not a timing assertion: a hanging webhook would block forever without its timeout.
            assertTrue(took.compareTo(Duration.ofSeconds(60)) < 0, "post returned after " + took);
        }
    }

    @Test
    void should_log_an_unreachable_webhook_and_return() {
        List<String> log = new ArrayList<>();
        new Webhooks(List.of(new Webhook(URI.create("http://127.0.0.1:1/hook"), Webhook.Format.JSON, Duration.ofSeconds(2))), log::add)
                .post(EVENT);
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.get(0).startsWith("notification promote to http://127.0.0.1:1/… failed: ConnectException"), log.get(0));
    }

    Path context(String notifications) throws Exception {
        Path f = canary.release.MinimalContext.write(dir, "orders-canary", notifications);
        return f;
    }

    @Test
    void should_read_the_notifications_key_with_defaults_and_env_references() throws Exception {
        Context ctx = Context.load(context("""
                notifications:
                  - url: https://hooks.example.com/services/${SLACK_PATH}
                    format: slack
                    timeout: 2s
                  - url: http://127.0.0.1:8080/canary
                """), Map.of("SLACK_PATH", "T0/B0/x")::get);
        assertEquals(List.of(new Webhook(URI.create("https://hooks.example.com/services/T0/B0/x"), Webhook.Format.SLACK, Duration.ofSeconds(2)),
                new Webhook(URI.create("http://127.0.0.1:8080/canary"), Webhook.Format.JSON, Duration.ofSeconds(5))), ctx.notifications());
        assertEquals(List.of(), Context.load(context("")).notifications());
    }

    @Test
    void should_refuse_bad_notifications_in_one_line() throws Exception {
        Map<String, String> cases = Map.of(
                "notifications: https://x", "key 'notifications': expected a list of webhooks, each {url: https://..., format: json | slack, timeout: 5s}, got 'https://x'",
                "notifications:\n  - url: ftp://x/y\n", "key 'notifications[0].url': expected an http:// or https:// URL with a host, got 'ftp://x/y'",
                "notifications:\n  - url: http://x/y\n    format: teams\n", "key 'notifications[0].format': expected one of json, slack, got teams",
                "notifications:\n  - url: http://x/y\n    timeout: 5m\n", "key 'notifications[0].timeout': expected a duration above 0 and at most 1m",
                "notifications:\n  - url: http://x/y\n    timeout: soon\n", "key 'notifications[0].timeout': expected a duration such as 2s or 500ms, got 'soon'",
                "notifications:\n  - uri: http://x/y\n", "unknown key 'notifications[0].uri' (expected one of: format, timeout, url)",
                "notifications:\n  - format: json\n", "missing key 'notifications[0].url'");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Path f = context(c.getKey());
            String message = assertThrows(Context.ContextException.class, () -> Context.load(f)).getMessage();
            assertTrue(message.startsWith(f + ": " + c.getValue()), c.getKey() + " -> " + message);
            assertFalse(message.contains("\n"), message);
        }
    }

    @Test
    void should_say_degraded_once_per_transition() {
        LastHealth h = new LastHealth(dir, "orders-canary");
        assertFalse(h.turned("healthy", "degraded"));
        assertTrue(h.turned("degraded", "degraded"));
        assertFalse(h.turned("degraded", "degraded"), "still degraded: already said");
        assertFalse(h.turned("healthy", "degraded"));
        assertTrue(h.turned("degraded", "degraded"), "degraded again after healthy");
        assertTrue(new LastHealth(dir, "another").turned("degraded", "degraded"), "each context on its own");
    }
}
