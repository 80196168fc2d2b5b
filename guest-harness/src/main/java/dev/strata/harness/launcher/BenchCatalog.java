package dev.strata.harness.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * {@code strata bench NAME [args]}: finds the benchmark program {@code <Name>Bench} in the known
 * bench packages and runs its {@code main}. Benchmarks are found on the class path, so a module
 * adds one by adding a class, never by editing this file. {@code --help}: a benchmark either
 * declares {@code public static final String USAGE}, printed here without running it, or
 * answers {@code --help} in its own {@code main}.
 *
 * <p>Stateless; any thread.
 */
public final class BenchCatalog {

    /** Where benchmark programs live; one package per module that has them. */
    public static final List<String> PACKAGES = List.of("dev.strata.harness.bench", "dev.strata.harness.bench.jobs",
            "dev.strata.harness.bench.qcow2");

    private final ClassLoader loader;

    public BenchCatalog(ClassLoader loader) {
        this.loader = loader;
    }

    /**
     * The benchmarks on the class path by their command name: {@code Qcow2ReadBench} is
     * {@code qcow2-read}; value = class name.
     */
    public TreeMap<String, String> available() {
        TreeMap<String, String> found = new TreeMap<>();
        for (String pkg : PACKAGES) {
            for (String simple : classesIn(pkg)) {
                if (simple.endsWith("Bench") && simple.length() > "Bench".length() && !simple.contains("$")) {
                    found.put(commandName(simple), pkg + "." + simple);
                }
            }
        }
        return found;
    }

    /** {@code GuestIopsBench} -> {@code guest-iops}. */
    static String commandName(String simpleName) {
        String base = simpleName.substring(0, simpleName.length() - "Bench".length());
        return base.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** Runs benchmark {@code name} (command name, or class name with or without "Bench"). */
    public int run(String name, String[] args, PrintStream err) {
        TreeMap<String, String> all = available();
        String key = normalise(name);
        String cls = all.entrySet().stream()
                .filter(e -> normalise(e.getKey()).equals(key) || normalise(simple(e.getValue())).equals(key)
                        || normalise(simple(e.getValue())).equals(key + "bench"))
                .map(java.util.Map.Entry::getValue).findFirst().orElse(null);
        if (cls == null) {
            err.println("strata: bench: no benchmark named '" + name + "'; available: "
                    + (all.isEmpty() ? "none in this build" : String.join(", ", all.keySet())));
            return 1;
        }
        try {
            Class<?> bench = Class.forName(cls, true, loader);
            String usage = askedForHelp(args) ? usage(bench) : null;
            if (usage != null) {
                // a benchmark that declares its usage never starts on --help (several take their
                // first argument as a work folder and would otherwise run with a folder "--help")
                System.out.println(usage);
                return 0;
            }
            Method main = bench.getMethod("main", String[].class);
            if (!Modifier.isStatic(main.getModifiers())) {
                err.println("strata: bench: " + cls + " has no static main");
                return 1;
            }
            main.invoke(null, (Object) args);
            return 0;
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            err.println("strata: bench " + name + ": " + (c.getMessage() != null ? c.getMessage() : c.toString()));
            return 1;
        } catch (ReflectiveOperationException | LinkageError e) {
            err.println("strata: bench: cannot run " + cls + ": " + e);
            return 1;
        }
    }

    private static boolean askedForHelp(String[] args) {
        return java.util.Arrays.stream(args).anyMatch(a -> a.equals("--help") || a.equals("-h"));
    }

    /**
     * The benchmark's {@code public static final String USAGE}, or null when it has none (it then
     * answers {@code --help} itself).
     */
    static String usage(Class<?> bench) {
        try {
            java.lang.reflect.Field f = bench.getField("USAGE");
            return Modifier.isStatic(f.getModifiers()) && f.getType() == String.class ? (String) f.get(null) : null;
        } catch (NoSuchFieldException | IllegalAccessException e) {
            return null;
        }
    }

    private static String normalise(String s) {
        return s.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
    }

    private static String simple(String cls) {
        return cls.substring(cls.lastIndexOf('.') + 1);
    }

    private List<String> classesIn(String pkg) {
        String dir = pkg.replace('.', '/');
        java.util.ArrayList<String> out = new java.util.ArrayList<>();
        try {
            Enumeration<URL> urls = loader.getResources(dir);
            while (urls.hasMoreElements()) {
                URL url = urls.nextElement();
                if (url.getProtocol().equals("file")) {
                    try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
                        files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".class"))
                                .forEach(f -> out.add(f.substring(0, f.length() - ".class".length())));
                    }
                } else if (url.getProtocol().equals("jar")) {
                    JarURLConnection c = (JarURLConnection) url.openConnection();
                    c.setUseCaches(false);
                    try (JarFile jar = c.getJarFile()) {
                        for (JarEntry e : java.util.Collections.list(jar.entries())) {
                            String n = e.getName();
                            if (n.startsWith(dir + "/") && n.endsWith(".class") && n.indexOf('/', dir.length() + 1) < 0) {
                                out.add(n.substring(dir.length() + 1, n.length() - ".class".length()));
                            }
                        }
                    }
                }
            }
        } catch (IOException | URISyntaxException e) {
            // an unreadable class path entry simply contributes no benchmarks
        }
        return out;
    }
}
