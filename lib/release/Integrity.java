package canary.release;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import canary.common.Table;

/**
 * The integrity table of check_data: per partition, the records routing consumed and the records in
 * the legacy and new topics. Clean when consumed == legacy + new on every partition.
 */
public record Integrity(String consumedFrom, List<Row> rows) {

    /** One partition: records routing consumed, and records in the legacy and new topics. */
    public record Row(int partition, long consumed, long toLegacy, long toNew) {
        public long difference() {
            return consumed - toLegacy - toNew;
        }
    }

    public static Integrity of(String consumedFrom, Map<Integer, Long> consumed, Map<Integer, Long> toLegacy, Map<Integer, Long> toNew) {
        List<Row> rows = new ArrayList<>();
        for (Integer p : consumed.keySet()) {
            rows.add(new Row(p, consumed.get(p), toLegacy.getOrDefault(p, 0L), toNew.getOrDefault(p, 0L)));
        }
        return new Integrity(consumedFrom, List.copyOf(rows));
    }

    public boolean clean() {
        return rows.stream().allMatch(r -> r.difference() == 0);
    }

    public Row total() {
        return new Row(-1, rows.stream().mapToLong(Row::consumed).sum(), rows.stream().mapToLong(Row::toLegacy).sum(),
                rows.stream().mapToLong(Row::toNew).sum());
    }

    public Table table() {
        Table t = new Table("PARTITION", "CONSUMED", "LEGACY", "NEW", "DIFFERENCE");
        for (Row r : rows) {
            t.row(r.partition(), r.consumed(), r.toLegacy(), r.toNew(), r.difference());
        }
        Row tot = total();
        t.row("all", tot.consumed(), tot.toLegacy(), tot.toNew(), tot.difference());
        return t;
    }
}
