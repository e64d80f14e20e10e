package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import canary.cli.Cli;
import canary.cli.RouterCommand;
import canary.common.UserException;
import canary.context.Context;

/** The supervisor examples in services_examples/ stay in step with router.java: their arguments parse, their context loads. */
@Tag("fast")
class ServicesExamplesTest {

    static final Path EXAMPLES = Path.of("services_examples");

    /** The arguments after router.java, parsed by router.java's own command line. */
    static CommandLine.ParseResult parseRouterArgs(String commandLine) {
        List<String> words = Arrays.asList(commandLine.trim().split("\\s+"));
        List<String> args = new ArrayList<>(words.subList(words.indexOf("router.java") + 1, words.size()));
        return Cli.commandLine(new RouterCommand()).parseArgs(args.toArray(String[]::new));
    }

    @Test
    void the_systemd_unit_runs_router_java_with_valid_options_and_does_not_restart_a_refusal() throws Exception {
        List<String> unit = Files.readAllLines(EXAMPLES.resolve("canary-router@.service"));
        String exec = unit.stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow().substring("ExecStart=".length());
        CommandLine.ParseResult r = parseRouterArgs(exec.replace("%i", "3"));
        assertEquals(3, (int) r.matchedOptionValue("--instance", -1));
        assertEquals(Path.of("/run/canary-router-3/health.json"), r.matchedOptionValue("--health-file", null));
        assertTrue(unit.contains("Restart=on-failure"), "restart on failure only");
        assertTrue(unit.contains("RestartPreventExitStatus=" + UserException.BAD_INPUT), "a refused router is not restarted");
    }

    @Test
    void the_kubernetes_statefulset_passes_the_pod_ordinal_as_instance_and_its_context_loads(@TempDir Path dir) throws Exception {
        List<JsonNode> docs;
        try (MappingIterator<JsonNode> it = new YAMLMapper().readerFor(JsonNode.class)
                .readValues(Files.readString(EXAMPLES.resolve("router-statefulset.yaml")))) {
            docs = it.readAll();
        }
        JsonNode configMap = docs.stream().filter(d -> d.path("kind").asText().equals("ConfigMap")).findFirst().orElseThrow();
        JsonNode set = docs.stream().filter(d -> d.path("kind").asText().equals("StatefulSet")).findFirst().orElseThrow();
        Path ctxFile = dir.resolve("context.yaml");
        Files.writeString(ctxFile, configMap.at("/data/context.yaml").asText());
        Context ctx = Context.load(ctxFile);
        assertEquals(Context.EngineKind.ROUTER, ctx.engine());

        JsonNode container = set.at("/spec/template/spec/containers/0");
        String script = container.at("/args/0").asText();
        assertTrue(script.contains("--instance \"${HOSTNAME##*-}\""), script);
        CommandLine.ParseResult r = parseRouterArgs(script.replace("\"${HOSTNAME##*-}\"", "1"));
        assertEquals(1, (int) r.matchedOptionValue("--instance", -1));
        Path health = r.matchedOptionValue("--health-file", null);
        assertTrue(container.at("/livenessProbe/exec/command/2").asText().contains(health.toString()), "the probe reads the health file");
        String mounted = container.at("/volumeMounts/0/mountPath").asText();
        assertTrue(script.contains(mounted + "/context.yaml"), "the context is read where the ConfigMap is mounted");
    }
}
