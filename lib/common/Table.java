package canary.common;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A borderless table with upper-case headers, numbers aligned right: for people. */
public final class Table {

    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    public Table(String... headers) {
        rows.add(headers);
        columns = headers.length;
    }

    public Table row(Object... cells) {
        String[] r = new String[columns];
        for (int i = 0; i < columns; i++) {
            r[i] = i < cells.length && cells[i] != null ? String.valueOf(cells[i]) : "";
        }
        rows.add(r);
        return this;
    }

    public void print(PrintWriter out) {
        int[] width = new int[columns];
        boolean[] numeric = new boolean[columns];
        for (int c = 0; c < columns; c++) {
            numeric[c] = true;
            for (int i = 0; i < rows.size(); i++) {
                width[c] = Math.max(width[c], rows.get(i)[c].length());
                if (i > 0 && !rows.get(i)[c].matches("-?[0-9][0-9.]*( %)?|all|-|")) {
                    numeric[c] = false;
                }
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                String cell = r[c];
                String pad = " ".repeat(width[c] - cell.length());
                sb.append(numeric[c] && c > 0 ? pad + cell : cell + pad);
                if (c < columns - 1) {
                    sb.append("  ");
                }
            }
            out.println(sb.toString().stripTrailing());
        }
        out.flush();
    }

    @Override
    public String toString() {
        java.io.StringWriter sw = new java.io.StringWriter();
        print(new PrintWriter(sw));
        return sw.toString();
    }
}
