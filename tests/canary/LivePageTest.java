package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.Cli;
import canary.cli.StatusCommand;
import canary.common.Text;
import canary.common.Waits;
import canary.release.MigrationState;

/**
 * status.java --serve during a real release, opened in Debian's headless Chromium: the page shows the state's phase and
 * share, follows a share change without a reload, and refuses actions without the token.
 */
class LivePageTest {

    /** Where the screenshot the README shows is written (committed from a run of this test). */
    static final Path SCREENSHOT = Path.of("target", "live-page.png");

    @TempDir
    Path dir;

    @Test
    void the_page_in_headless_chromium_shows_the_states_phase_and_share_and_follows_a_share_change() throws Exception {
        String plan = "rollout:\n  steps:\n    - share: 0.1\n      hold: 30m\n    - share: 0.5\n      hold: 1h\n    - promote\n"
                + "  gates:\n    max_lag: 10000\n    check_data: false\n";
        try (Kit kit = new Kit(dir, 3, plan); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 100, 20, "0.1");

            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            AtomicInteger exit = new AtomicInteger(-1);
            Thread server = new Thread(() -> {
                picocli.CommandLine cl = Cli.commandLine(new StatusCommand());
                cl.setOut(new PrintWriter(out, true));
                cl.setErr(new PrintWriter(err, true));
                exit.set(cl.execute(kit.contextFile.toString(), "--serve", "--port", "0", "--interval", "1s", "--allow-actions"));
            }, "status-serve");
            server.start();
            try {
                Pattern started = Pattern.compile("at (http://127\\.0\\.0\\.1:\\d+/) .*actions allowed with token ([0-9a-f]{32})");
                Waits.until("status --serve printed its address", Duration.ofSeconds(60), Waits.quiet(),
                        () -> started.matcher(out.toString()).find() || !server.isAlive());
                Matcher m = started.matcher(out.toString());
                assertTrue(m.find(), "out: " + out + "\nerr: " + err);
                String url = m.group(1);
                String token = m.group(2);

                // An action without the token, or with a wrong one, is refused and changes nothing.
                HttpClient http = HttpClient.newHttpClient();
                HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(url + "api/action/promote"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(403, refused.statusCode(), refused.body());
                HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(URI.create(url + "api/action/rollback"))
                        .header("X-Canary-Token", token.replace(token.charAt(0), token.charAt(0) == 'a' ? 'b' : 'a'))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(403, wrong.statusCode(), wrong.body());
                assertEquals(MigrationState.Phase.ROUTING, kit.state().phase());

                try (Chromium chromium = Chromium.open(url, dir.resolve("chromium-profile"))) {
                    MigrationState st = kit.state();
                    Waits.until("the page shows phase and share", Duration.ofSeconds(30), Waits.quiet(),
                            () -> st.phase().word().equals(text(chromium, "phase")) && Text.percent(st.share()).equals(text(chromium, "share")));
                    assertEquals("routing", chromium.text("phase"));
                    assertEquals("10 %", chromium.text("share"));
                    String document = chromium.documentId();

                    kit.updateRate("0.5").ok();
                    MigrationState changed = kit.state();
                    assertEquals(0.5, changed.share());
                    Waits.until("the same page shows the new share", Duration.ofSeconds(30), Waits.quiet(),
                            () -> "50 %".equals(text(chromium, "share")));
                    assertEquals(document, chromium.documentId(), "the page updated itself, it was not reloaded");
                    assertEquals(changed.phase().word(), chromium.text("phase"));
                    assertEquals("healthy", chromium.text("health"));

                    // What the page draws comes from the JSON, which is the status JSON plus the page's series.
                    JsonNode json = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(url + "api/status")).build(),
                            HttpResponse.BodyHandlers.ofString()).body());
                    assertEquals(0.5, json.get("share").asDouble());
                    assertEquals(changed.history().size(), json.get("history").size());
                    assertEquals(0.5, json.get("share_over_time").get(json.get("share_over_time").size() - 1).get("share").asDouble());
                    assertTrue(json.get("routed_over_time").size() >= 2, json.toString());
                    assertEquals(3, json.get("partitions").size());
                    assertEquals(2, json.get("plan").get("current_step").asInt(), "the plan's step of share 50 %");
                    assertTrue(json.get("plan").get("hold_left_seconds").asLong() > 0);
                    Waits.until("the page drew the plan and the routed records", Duration.ofSeconds(30), Waits.quiet(),
                            () -> "true".equals(eval(chromium, "document.querySelectorAll('#plan tr.current').length === 1 "
                                    + "&& document.querySelectorAll('#routed-chart path').length === 2 "
                                    + "&& document.querySelectorAll('#partitions tr').length === 4")));
                    assertEquals("false", chromium.evaluate("String(document.getElementById('actions-box').hidden)"),
                            "with --allow-actions the page offers the buttons");
                    chromium.screenshot(SCREENSHOT);
                    assertTrue(Files.size(SCREENSHOT) > 10_000, "a PNG of the page");
                }
            } finally {
                server.interrupt();
                server.join(30_000);
            }
            assertEquals(0, exit.get(), "status --serve ends with 0 when stopped\n" + err);
        }
    }

    private static String text(Chromium c, String id) {
        try {
            return c.text(id);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String eval(Chromium c, String js) {
        try {
            return c.evaluate(js);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
