package canary;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The integrity table of check_data: per partition, the records routing consumed and the records in
 * the legacy and new topics. Clean when consumed == legacy + new on every partition.
 */
public record Integrity(String consumedFrom, List<Row> rows) {

    public record Row(int partition, long consumed, long legacy, long fresh) {
        public long difference() {
            return consumed - legacy - fresh;
        }
    }

    public static Integrity of(String consumedFrom, Map<Integer, Long> consumed, Map<Integer, Long> legacy, Map<Integer, Long> fresh) {
        List<Row> rows = new ArrayList<>();
        for (Integer p : consumed.keySet()) {
            rows.add(new Row(p, consumed.get(p), legacy.getOrDefault(p, 0L), fresh.getOrDefault(p, 0L)));
        }
        return new Integrity(consumedFrom, List.copyOf(rows));
    }

    public boolean clean() {
        return rows.stream().allMatch(r -> r.difference() == 0);
    }

    public Row total() {
        return new Row(-1, rows.stream().mapToLong(Row::consumed).sum(), rows.stream().mapToLong(Row::legacy).sum(),
                rows.stream().mapToLong(Row::fresh).sum());
    }

    public Table table() {
        Table t = new Table("PARTITION", "CONSUMED", "LEGACY", "NEW", "DIFFERENCE");
        for (Row r : rows) {
            t.row(r.partition(), r.consumed(), r.legacy(), r.fresh(), r.difference());
        }
        Row tot = total();
        t.row("all", tot.consumed(), tot.legacy(), tot.fresh(), tot.difference());
        return t;
    }
}
