package dev.strata.monitor.hmp;

import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CompletionKind;
import dev.strata.monitor.Machine;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.LineReader;
import org.jline.reader.ParsedLine;

/**
 * Tab completion for the HMP console, from the registry: command names, {@code info}
 * sub-commands, and per argument what its {@link CompletionKind} names (drive ids and node names,
 * job ids from registered sources, file paths).
 *
 * <p>Called on the console's reader thread; reads the registry and graph, which are thread-safe.
 */
final class HmpCompleter implements Completer {

    private final CommandRegistry registry;
    private final Machine machine;

    HmpCompleter(CommandRegistry registry, Machine machine) {
        this.registry = registry;
        this.machine = machine;
    }

    @Override
    public void complete(LineReader reader, ParsedLine line, List<Candidate> out) {
        try {
            for (String s : candidates(line.words(), line.wordIndex(), line.word().substring(0, line.wordCursor()))) {
                out.add(new Candidate(s, s, null, null, null, null, !s.endsWith("/")));
            }
        } catch (RuntimeException e) {
            // completion must never break the prompt
        }
    }

    /** Candidates for word {@code index} of {@code words}, whose typed prefix is {@code prefix}. */
    List<String> candidates(List<String> words, int index, String prefix) {
        if (index == 0) {
            return filter(registry.hmpWords(), prefix);
        }
        String first = words.get(0);
        boolean info = first.equals("info") || first.equals("i");
        if (info && index == 1) {
            return filter(registry.infoWords(), prefix);
        }
        if ((first.equals("help") || first.equals("?")) && index == 1) {
            return filter(registry.hmpWords(), prefix);
        }
        if ((first.equals("help") || first.equals("?")) && index == 2 && (words.get(1).equals("info") || words.get(1).equals("i"))) {
            return filter(registry.infoWords(), prefix);
        }
        Command cmd = info ? registry.info(words.get(1)) : registry.hmp(first);
        int argStart = info ? 2 : 1;
        if (cmd == null || index < argStart) {
            return List.of();
        }
        List<HmpArg> args = HmpArg.parse(cmd.argsType());
        if (prefix.startsWith("-")) {
            List<String> flags = new ArrayList<>();
            args.stream().filter(a -> a.type() == '-').forEach(a -> flags.add("-" + a.flag()));
            return filter(flags, prefix);
        }
        int positional = 0;
        for (int i = argStart; i < index; i++) {
            if (!words.get(i).startsWith("-")) {
                positional++;
            }
        }
        List<HmpArg> pos = args.stream().filter(a -> a.type() != '-').toList();
        if (positional >= pos.size()) {
            return List.of();
        }
        HmpArg a = pos.get(positional);
        CompletionKind kind = cmd.completion(a.name(), a.type());
        if (kind == CompletionKind.FILE) {
            return files(prefix);
        }
        if (kind == CompletionKind.NONE) {
            return List.of();
        }
        return filter(registry.candidates(kind, machine), prefix);
    }

    private static List<String> filter(Collection<String> all, String prefix) {
        return all.stream().filter(s -> s.startsWith(prefix)).sorted().toList();
    }

    /** Paths starting with {@code prefix}; directories end in {@code /} so completion can go on. */
    static List<String> files(String prefix) {
        int slash = prefix.lastIndexOf('/');
        String dirPart = slash >= 0 ? prefix.substring(0, slash + 1) : "";
        String namePart = prefix.substring(slash + 1);
        Path dir = Path.of(dirPart.isEmpty() ? "." : dirPart);
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(namePart) && (!name.startsWith(".") || namePart.startsWith("."))) {
                    out.add(dirPart + name + (Files.isDirectory(p) ? "/" : ""));
                }
                if (out.size() > 1000) {
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        out.sort(null);
        return out;
    }
}
