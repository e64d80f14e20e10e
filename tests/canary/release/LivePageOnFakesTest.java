package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.Cli;
import canary.cli.StatusCommand;
import canary.common.Waits;
import canary.release.Fakes.World;

/** status --serve on in-memory fakes: the page and its JSON, read-only by default, and actions only with the token. */
@Tag("fast")
class LivePageOnFakesTest {

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    /** A running status --serve: its base URL and token (null when read-only). */
    record Served(Thread thread, String url, String token, StringWriter err) {
    }

    private Served serve(World w, String... extra) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        String[] args = new String[5 + extra.length];
        System.arraycopy(new String[]{w.ctx.file().toString(), "--serve", "--port", "0", "--interval=1s"}, 0, args, 0, 5);
        System.arraycopy(extra, 0, args, 5, extra.length);
        Thread t = new Thread(() -> {
            picocli.CommandLine cl = Cli.commandLine(new StatusCommand().wiring(CommandsOnFakesTest.wiring(w)));
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            exit.set(cl.execute(args));
        });
        t.start();
        Pattern p = Pattern.compile("at (http://127\\.0\\.0\\.1:\\d+/) \\(.*?(?:token ([0-9a-f]{32}))?");
        Waits.until("status --serve started", Duration.ofSeconds(20), Waits.quiet(), () -> out.toString().contains("Ctrl-C") || !t.isAlive());
        Matcher m = p.matcher(out.toString());
        assertTrue(m.find(), out + "\n" + err);
        Matcher token = Pattern.compile("token ([0-9a-f]{32})").matcher(out.toString());
        return new Served(t, m.group(1), token.find() ? token.group(1) : null, err);
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("X-Canary-Token", token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The plan in the page's JSON (missing when the server does not answer yet). */
    private JsonNode plan(Served s) {
        try {
            return new ObjectMapper().readTree(get(s.url() + "api/status").body()).path("plan");
        } catch (Exception e) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
    }

    @Test
    void should_serve_the_page_and_the_status_json_and_refuse_actions_when_read_only() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        w.lifecycle.migrate(0.25, Lifecycle.MissingOffsets.FAIL, false, false);
        Served s = serve(w);
        try {
            HttpResponse<String> page = get(s.url());
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("id=\"phase\"") && page.body().contains("/api/status"), "the page and its script");
            assertTrue(!page.body().contains("http://") && !page.body().contains("https://") && !page.body().contains("src="),
                    "nothing fetched from anywhere else");
            JsonNode json = new ObjectMapper().readTree(get(s.url() + "api/status").body());
            assertEquals("routing", json.get("phase").asText());
            assertEquals(0.25, json.get("share").asDouble());
            assertEquals(false, json.get("actions_allowed").asBoolean());
            assertEquals(w.store.state.history().size(), json.get("history").size());
            assertEquals(0.25, json.get("share_over_time").get(0).get("share").asDouble());
            assertTrue(json.get("plan").isNull(), "no rollout plan in the context");
            assertEquals(403, post(s.url() + "api/action/promote", null).statusCode());
            assertEquals(405, get(s.url() + "api/action/promote").statusCode());
            assertEquals(MigrationState.Phase.ROUTING, w.store.state.phase(), "nothing changed");
        } finally {
            s.thread().interrupt();
            s.thread().join(10_000);
        }
    }

    @Test
    void should_promote_from_the_page_only_with_the_token() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        w.lifecycle.migrate(0.5, Lifecycle.MissingOffsets.FAIL, false, false);
        Served s = serve(w, "--allow-actions");
        try {
            assertTrue(s.token() != null);
            assertEquals(403, post(s.url() + "api/action/promote", null).statusCode());
            assertEquals(403, post(s.url() + "api/action/promote", "0".repeat(32)).statusCode());
            assertEquals(404, post(s.url() + "api/action/teardown", s.token()).statusCode());
            assertEquals(MigrationState.Phase.ROUTING, w.store.state.phase(), "nothing changed");
            HttpResponse<String> done = post(s.url() + "api/action/promote", s.token());
            assertEquals(200, done.statusCode(), done.body());
            JsonNode result = new ObjectMapper().readTree(done.body());
            assertEquals(0, result.get("exit_code").asInt());
            assertEquals(MigrationState.Phase.PROMOTED, w.store.state.phase());
            assertTrue(result.get("out").asText().contains("promoted"), "promote.java's command ran: " + result);
        } finally {
            s.thread().interrupt();
            s.thread().join(10_000);
        }
    }

    @Test
    void should_pause_and_resume_the_rollout_from_the_page_only_with_the_token() throws Exception {
        World w = new World(dir, "rollout:\n  steps:\n    - share: 0.1\n      hold: 10m\n    - promote\n  gates:\n    check_data: false\n",
                UnaryOperator.identity());
        w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
        Served s = serve(w, "--allow-actions");
        try {
            String page = get(s.url()).body();
            assertTrue(page.contains("id=\"pause\"") && page.contains("id=\"resume\""), "the page has the buttons");
            assertEquals(403, post(s.url() + "api/action/pause", null).statusCode());
            assertEquals(403, post(s.url() + "api/action/pause", "0".repeat(32)).statusCode());
            assertNull(w.store.state.paused(), "nothing changed");
            HttpResponse<String> paused = post(s.url() + "api/action/pause", s.token());
            assertEquals(200, paused.statusCode(), paused.body());
            assertTrue(new ObjectMapper().readTree(paused.body()).get("out").asText().contains("rollout paused"), paused.body());
            assertEquals("ops@host", w.store.state.paused().by());
            Waits.until("the page's JSON says paused", Duration.ofSeconds(10), Waits.quiet(), () -> {
                JsonNode plan = plan(s);
                return plan.path("paused").asBoolean() && "ops@host".equals(plan.path("paused_by").asText());
            });
            HttpResponse<String> twice = post(s.url() + "api/action/pause", s.token());
            assertEquals(409, twice.statusCode(), twice.body());
            assertEquals(2, new ObjectMapper().readTree(twice.body()).get("exit_code").asInt());
            assertEquals(403, post(s.url() + "api/action/resume", null).statusCode());
            assertTrue(w.store.state.paused() != null, "still paused");
            HttpResponse<String> resumed = post(s.url() + "api/action/resume", s.token());
            assertEquals(200, resumed.statusCode(), resumed.body());
            assertNull(w.store.state.paused());
            Waits.until("the page's JSON says not paused", Duration.ofSeconds(10), Waits.quiet(),
                    () -> plan(s).has("paused") && !plan(s).get("paused").asBoolean());
        } finally {
            s.thread().interrupt();
            s.thread().join(10_000);
        }
    }
}
