package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import canary.context.Context;
import canary.context.Routing;
import canary.kafka.KafkaStateStore;
import canary.release.MigrationState;
import canary.release.Operator;

/** The state in the cluster: an unreadable record never bricks a context; the latest readable state wins. */
class StateStoreTest {

    @Test
    void a_garbage_record_is_passed_over_with_one_warning_naming_its_offset_and_the_next_write_heals_the_context() throws Exception {
        String topic = TestBroker.unique("state") + "_canary_state";
        List<String> warnings = new ArrayList<>();
        try (KafkaStateStore store = new KafkaStateStore(TestBroker.clientProperties(), topic, "ctx", new Operator("ops", "host", "test"),
                Clock.systemUTC()).warnTo(warnings::add)) {
            store.ensureExists();
            MigrationState first = store.write(-1, MigrationState.start("ctx", Context.EngineKind.ROUTER, Routing.RANDOM, 0.1, Map.of(0, 5L))
                    .withPhase(MigrationState.Phase.ROUTING), "start");
            long garbageOffset = produce(topic, "ctx", "{not json at all");

            MigrationState read = store.read().orElseThrow();
            assertEquals(first, read, "the latest readable state wins");
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains("at offset " + garbageOffset + " is not readable"), warnings.get(0));
            assertTrue(warnings.get(0).contains("using the state before it (version 0, phase routing)"), warnings.get(0));

            MigrationState next = store.write(read.version(), read.withShare(0.5), "share 10 % -> 50 %");
            warnings.clear();
            assertEquals(next, store.read().orElseThrow(), "a valid record after the garbage is the state");
            assertEquals(List.of(), warnings, "an unreadable record before the latest readable one is history, not a problem");
        }
    }

    static long produce(String topic, String key, String value) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(TestBroker.clientProperties(), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            return p.send(new ProducerRecord<>(topic, 0, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)))
                    .get().offset();
        }
    }
}
