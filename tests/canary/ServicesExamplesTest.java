package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.Assumptions;
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

    /**
     * A state folder holds client.properties, ksqldb.env and the Terraform state: every example context's state_dir inside
     * the repository must be ignored by git, so that no secret can be committed. git itself decides (git check-ignore).
     */
    @Test
    void every_example_contexts_state_folder_is_ignored_by_git() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Assumptions.assumeTrue(git(root, "rev-parse", "--is-inside-work-tree") == 0, "not a git work tree: nothing to check");
        List<Path> contexts;
        try (Stream<Path> s = Files.list(EXAMPLES)) {
            contexts = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        List<Path> checked = new ArrayList<>();
        for (Path f : contexts) {
            JsonNode yaml = new YAMLMapper().readTree(f.toFile());
            if (yaml == null || !yaml.has("name") || !yaml.has("topic")) {
                continue; // not a context file (the Kubernetes manifests)
            }
            Path stateDir = f.toAbsolutePath().getParent().resolve(yaml.path("state_dir").asText("etc")).normalize();
            assertTrue(stateDir.startsWith(root), f + ": state_dir " + stateDir + " lies outside the repository");
            for (String file : List.of("client.properties", "ksqldb.env", "terraform/terraform.tfstate")) {
                Path p = stateDir.resolve(file);
                assertEquals(0, git(root, "check-ignore", "-q", root.relativize(p).toString()),
                        f + ": " + p + " is not ignored by git: add its state folder to .gitignore");
            }
            checked.add(f);
        }
        assertTrue(checked.contains(EXAMPLES.resolve("context.yaml")) && checked.contains(EXAMPLES.resolve("context-ksqldb.yaml")),
                "both example contexts were checked: " + checked);
    }

    static int git(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return -1; // no git
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "git " + String.join(" ", args) + " answers");
        return p.exitValue();
    }
}
