package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Rule;
import canary.demo.DummyService;
import canary.release.MigrationState;

/**
 * Friends and family first, on the embedded router with producers running: records with header {@code tenant: beta} all go
 * to the new version at share 0 while a key prefix stays pinned to legacy; the rules change at runtime (a second tenant);
 * the share ramps; promotion hands over exactly. Proven from what the two versions processed.
 */
class RulesLifecycleTest {

    @TempDir
    Path dir;

    @Test
    void beta_records_reach_the_new_version_at_share_0_then_the_share_ramps_and_every_record_is_processed_once() throws Exception {
        String rules = "rules:\n  - header:tenant=beta\n  - legacy:key-prefix:vip-\n";
        try (Kit kit = new Kit(dir, 4, rules);
             TestProducer producer = new TestProducer(kit.topic)
                     .headers(n -> n % 4 == 0 ? Map.of("tenant", "beta") : n % 4 == 1 ? Map.of("tenant", "gamma") : Map.of())
                     .keys(n -> n % 6 == 0 ? "vip-" + n : null)) {
            Predicate<String> vip = id -> producer.sent(id).key().startsWith("vip-");
            Predicate<String> beta = id -> "beta".equals(producer.sent(id).headers().get("tenant")) && !vip.test(id);
            Predicate<String> gamma = id -> "gamma".equals(producer.sent(id).headers().get("tenant")) && !vip.test(id);
            kit.legacyHasProcessed(producer, 100);
            producer.startBackground(100);

            // Share 0 with the context file's rules: only beta records go to the new version, never a pinned one.
            Kit.Run migration = kit.migration("0").ok();
            assertTrue(migration.out().contains("share 0 %, rules header:tenant=beta legacy:key-prefix:vip-"), migration.out());
            assertEquals(Rule.parseAll(List.of("header:tenant=beta", "legacy:key-prefix:vip-")), kit.state().rules());
            kit.awaitRouted(250);
            kit.awaitDrained(kit.newGroup, kit.topic + "_new", Duration.ofSeconds(30));
            // what legacy has processed is read below too: it may still be starting on its derived topic
            kit.awaitDrained(kit.legacyGroup, kit.topic + "_legacy", Duration.ofSeconds(60));
            List<String> newAtZero = ids(kit, kit.newGroup, kit.topic + "_new");
            assertFalse(newAtZero.isEmpty(), "beta records reached the new version at share 0");
            assertEquals(List.of(), newAtZero.stream().filter(beta.negate()).toList(), "at share 0 the new version gets only beta records");
            assertTrue(ids(kit, kit.legacyGroup, kit.topic + "_legacy").stream().anyMatch(vip), "pinned records go to legacy");

            // The rules change at runtime: gamma joins beta. The change drains, so the gamma records legacy has are all before it.
            Kit.Run change = kit.updateRate("--rule", "header:tenant=beta,gamma", "--rule", "legacy:key-prefix:vip-").ok();
            assertTrue(change.out().contains("rules: header:tenant=beta legacy:key-prefix:vip- -> header:tenant=beta,gamma legacy:key-prefix:vip-"),
                    change.out());
            assertTrue(kit.state().lastChange().what().endsWith("(drained)"));
            Set<String> gammaOnLegacyBeforeTheChange = ids(kit, kit.legacyGroup, kit.topic + "_legacy").stream().filter(gamma)
                    .collect(Collectors.toSet());
            kit.awaitRouted(450);

            kit.updateRate("50%").ok();
            assertEquals(0.5, kit.state().share());
            assertEquals(2, kit.state().rules().size(), "a share change keeps the rules");
            kit.awaitRouted(650);
            kit.updateRate("100%").ok();
            kit.awaitRouted(800);
            Kit.Run status = kit.status().ok();
            assertTrue(status.out().contains("rules     header:tenant=beta,gamma -> new; legacy:key-prefix:vip- -> legacy"), status.out());
            kit.checkData().ok();

            kit.promoteAndAssertExactlyOnce(producer);
            assertEquals(MigrationState.Phase.PROMOTED, kit.state().phase());

            List<String> onLegacy = ids(kit, kit.legacyGroup, kit.topic + "_legacy");
            List<String> onNew = ids(kit, kit.newGroup, kit.topic + "_new");
            assertEquals(List.of(), onLegacy.stream().filter(beta).toList(), "no beta record was routed to legacy");
            assertEquals(List.of(), onLegacy.stream().filter(gamma).filter(id -> !gammaOnLegacyBeforeTheChange.contains(id)).toList(),
                    "no gamma record was routed to legacy after the rule for gamma");
            assertEquals(List.of(), onNew.stream().filter(vip).toList(), "no pinned record was routed to new, not even at 100 %");
            assertTrue(onNew.stream().anyMatch(gamma) && onNew.stream().anyMatch(beta));
            assertTrue(onLegacy.stream().anyMatch(vip) && onLegacy.size() > onLegacy.stream().filter(vip).count(),
                    "legacy got the pinned records and, before 100 %, a share of the rest");
        }
    }

    /** The ids a version processed from {@code topic}, in the order it processed them. */
    static List<String> ids(Kit kit, String group, String topic) {
        return kit.processed(group).stream().filter(p -> p.topic().equals(topic)).map(DummyService.Processed::id).toList();
    }
}
