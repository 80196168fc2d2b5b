package dev.strata.blockdrv;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;

/** The known driver kinds by name. Immutable after construction; safe from any thread. */
public final class DriverRegistry {

    private static final DriverRegistry STANDARD = new DriverRegistry(load());

    private final Map<String, BlockDriverFactory> byName;

    private DriverRegistry(Map<String, BlockDriverFactory> byName) {
        this.byName = Collections.unmodifiableMap(byName);
    }

    /** Every driver on the class path. */
    public static DriverRegistry standard() {
        return STANDARD;
    }

    private static Map<String, BlockDriverFactory> load() {
        Map<String, BlockDriverFactory> m = new LinkedHashMap<>();
        for (BlockDriverFactory f : ServiceLoader.load(BlockDriverFactory.class, DriverRegistry.class.getClassLoader())) {
            m.put(f.name(), f);
        }
        return m;
    }

    /** The factory for {@code name}; fails with QEMU's message when there is none. */
    public BlockDriverFactory require(String name) {
        BlockDriverFactory f = byName.get(name);
        if (f == null) {
            throw BlockException.invalid("Unknown file format '" + name + "'");
        }
        return f;
    }

    public BlockDriverFactory find(String name) {
        return byName.get(name);
    }

    /** The protocol driver a filename names by its prefix ({@code nbd://...}), or {@code file}. */
    public BlockDriverFactory protocolFor(String filename) {
        for (BlockDriverFactory f : byName.values()) {
            if (f.isProtocol() && f.ownsFilename(filename)) {
                return f;
            }
        }
        return require("file");
    }

    public Collection<BlockDriverFactory> all() {
        return byName.values();
    }
}
