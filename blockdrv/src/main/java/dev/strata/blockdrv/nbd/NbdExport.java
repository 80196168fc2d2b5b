package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What an {@link NbdServer} serves under one name. The export holds a {@link BlockBackend} the way
 * a device does: every client request enters through that backend, so draining it pauses the
 * export, jobs see its writes through the graph's notifiers, and op blockers on the nodes apply.
 * The caller creates the backend (e.g. {@code BlockGraph.createBackend}) and keeps ownership.
 *
 * <p>Immutable once built; any thread. Build with {@link #builder(String, BlockBackend)}.
 */
public final class NbdExport {

    /** Longest export name or description the protocol carries (NBD's string limit). */
    public static final int MAX_STRING = 4096;

    private final String id;
    private final String name;
    private final String description;
    private final BlockBackend backend;
    private final boolean writable;
    private final boolean writethrough;
    private final boolean multiConn;
    private final List<NbdDirtyBitmap> bitmaps;
    private final boolean allocationDepth;

    private NbdExport(Builder b) {
        this.id = b.id == null ? b.name : b.id;
        this.name = b.name;
        this.description = b.description;
        this.backend = b.backend;
        this.writable = b.writable;
        this.writethrough = b.writethrough;
        this.multiConn = b.multiConn;
        this.bitmaps = List.copyOf(b.bitmaps);
        this.allocationDepth = b.allocationDepth;
    }

    /** Starts a read-only export of {@code backend} called {@code name}. */
    public static Builder builder(String name, BlockBackend backend) {
        return new Builder(name, backend);
    }

    /** The block-export id (QMP {@code id}); the name unless set. */
    public String id() {
        return id;
    }

    /** The name clients ask for (NBD export name). */
    public String name() {
        return name;
    }

    /** Free text shown by {@code NBD_OPT_LIST} and {@code NBD_INFO_DESCRIPTION}, or null. */
    public String description() {
        return description;
    }

    public BlockBackend backend() {
        return backend;
    }

    public boolean writable() {
        return writable;
    }

    /**
     * Every write is flushed before it is acknowledged. Informational here: whoever builds the
     * export gives it a backend whose write cache is off ({@code writeCache = !writethrough}), as
     * QEMU does, and the backend does the flushing.
     */
    public boolean writethrough() {
        return writethrough;
    }

    /** Advertise {@code NBD_FLAG_CAN_MULTI_CONN}: several connections see one another's flushed writes. */
    public boolean multiConn() {
        return multiConn;
    }

    /** Bitmaps offered as {@code qemu:dirty-bitmap:<name>} contexts, in the order given. */
    public List<NbdDirtyBitmap> bitmaps() {
        return bitmaps;
    }

    /** Offer the {@code qemu:allocation-depth} context. */
    public boolean allocationDepth() {
        return allocationDepth;
    }

    @Override
    public String toString() {
        return "NBD export '" + name + "' of " + backend.name() + (writable ? " (writable)" : "");
    }

    /** Collects an export's settings; not thread safe. */
    public static final class Builder {
        private String id;
        private final String name;
        private String description;
        private final BlockBackend backend;
        private boolean writable;
        private boolean writethrough;
        private boolean multiConn;
        private final List<NbdDirtyBitmap> bitmaps = new ArrayList<>();
        private boolean allocationDepth;

        private Builder(String name, BlockBackend backend) {
            this.name = Objects.requireNonNull(name, "name");
            this.backend = Objects.requireNonNull(backend, "backend");
        }

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder description(String description) {
            this.description = description;
            return this;
        }

        public Builder writable(boolean writable) {
            this.writable = writable;
            return this;
        }

        public Builder writethrough(boolean writethrough) {
            this.writethrough = writethrough;
            return this;
        }

        public Builder multiConn(boolean multiConn) {
            this.multiConn = multiConn;
            return this;
        }

        public Builder bitmap(NbdDirtyBitmap bitmap) {
            this.bitmaps.add(Objects.requireNonNull(bitmap, "bitmap"));
            return this;
        }

        public Builder allocationDepth(boolean allocationDepth) {
            this.allocationDepth = allocationDepth;
            return this;
        }

        /** Checks the strings the protocol limits and returns the export. */
        public NbdExport build() {
            if (name.length() > MAX_STRING) {
                throw new IllegalArgumentException("export name '" + name.substring(0, 32) + "...' too long");
            }
            if (description != null && description.length() > MAX_STRING) {
                throw new IllegalArgumentException("export description too long");
            }
            for (NbdDirtyBitmap b : bitmaps) {
                if (bitmaps.stream().filter(o -> o.name().equals(b.name())).count() > 1) {
                    throw new IllegalArgumentException("bitmap '" + b.name() + "' listed twice");
                }
            }
            return new NbdExport(this);
        }
    }
}
