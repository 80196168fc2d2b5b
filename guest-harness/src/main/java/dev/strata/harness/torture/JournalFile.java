package dev.strata.harness.torture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A guest crash journal read back after the machine died (the format is
 * {@link dev.strata.harness.guest.CrashJournal}'s). A last line without its newline was cut by the
 * kill and is ignored: the journal only ever lists fewer claims than the guest was given.
 *
 * @param drive   the drive the journal belongs to
 * @param tag     the run tag in the stamps of that guest
 * @param entries the records, in the order they ended
 */
public record JournalFile(String drive, int tag, List<Entry> entries) {

    /** One write: acknowledged ({@code acked}) or failed, its sectors and its verifier times. */
    public record Entry(boolean acked, long lba, int sectors, long seq, long endAt) {
    }

    private static final Pattern HEADER = Pattern.compile("# strata crash journal v1 drive=(\\S+) tag=0x([0-9a-f]{8})");

    /** Reads {@code file}; a missing or headerless file is an {@link IOException} naming it. */
    public static JournalFile read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        int nl = text.indexOf('\n');
        Matcher m = nl < 0 ? null : HEADER.matcher(text.substring(0, nl));
        if (m == null || !m.matches()) {
            throw new IOException(file + ": not a strata crash journal");
        }
        List<Entry> entries = new ArrayList<>();
        int at = nl + 1;
        while (true) {
            int end = text.indexOf('\n', at);
            if (end < 0) {
                break; // a record cut by the kill
            }
            String[] f = text.substring(at, end).split(" ");
            if (f.length != 5 || !(f[0].equals("A") || f[0].equals("F"))) {
                throw new IOException(file + ": bad record '" + text.substring(at, end) + "'");
            }
            entries.add(new Entry(f[0].equals("A"), Long.parseLong(f[1]), Integer.parseInt(f[2]),
                    Long.parseLong(f[3]), Long.parseLong(f[4])));
            at = end + 1;
        }
        return new JournalFile(m.group(1), Integer.parseUnsignedInt(m.group(2), 16), List.copyOf(entries));
    }

    /** How many acknowledged (durable) writes the journal lists. */
    public long durableWrites() {
        return entries.stream().filter(Entry::acked).count();
    }
}
