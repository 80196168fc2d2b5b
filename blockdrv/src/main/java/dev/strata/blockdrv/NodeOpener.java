package dev.strata.blockdrv;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Builds node trees from options: the protocol node under a format node, format probing, and
 * the backing chain named in image headers (relative names resolve against the directory of the
 * image that holds them; the recorded backing format wins over probing).
 */
final class NodeOpener {

    /** Deeper chains than this are refused: far beyond any real use, and it stops runaway recursion. */
    static final int MAX_CHAIN_DEPTH = 256;

    private final BlockGraph graph;
    private final DriverRegistry drivers;

    NodeOpener(BlockGraph graph, DriverRegistry drivers) {
        this.graph = graph;
        this.drivers = drivers;
    }

    BlockNode open(BlockOptions options) {
        return open(options, false, 0, new HashSet<>(), "");
    }

    /** {@code prefix}: where {@code o} sits in the user's option tree, for messages ({@code file.}, {@code backing.}). */
    private BlockNode open(BlockOptions o, boolean defaultReadOnly, int depth, Set<Path> chain, String prefix) {
        if (depth > MAX_CHAIN_DEPTH) {
            throw BlockException.invalid("Backing chain deeper than " + MAX_CHAIN_DEPTH + " images");
        }
        boolean readOnly = o.getBool("read-only", o.getBool("readonly", defaultReadOnly));
        String driverName = o.get("driver", o.get("format"));
        BlockDriverFactory factory = driverName == null ? null : drivers.require(driverName);
        if (factory != null && factory.isProtocol()) {
            return openProtocol(factory, o, readOnly, prefix);
        }
        if (factory != null) {
            DriverOptions.check(factory, o, prefix);
        }
        RequestPolicy policy = RequestPolicy.of(o, readOnly);
        BlockNode fileNode = openFileChild(o, readOnly, prefix);
        boolean probed = false;
        if (factory == null) {
            factory = probe(fileNode);
            probed = true;
            try {
                DriverOptions.check(factory, o, prefix);
            } catch (BlockException e) {
                fileNode.closeDriver();
                throw e;
            }
        }
        BlockNode node = graph.newNode(o.get("node-name"), readOnly, NodeCache.from(o));
        node.setPolicy(policy);
        node.attach(ChildRole.FILE, fileNode);
        BlockOptions driverOptions = probed ? o.with("x-probed", "on") : o;
        try {
            node.bind(factory.open(node, driverOptions, graph::object));
        } catch (RuntimeException e) {
            fileNode.closeDriver();
            throw e;
        }
        // registered before its backing chain is opened, as QEMU names and lists them: the backing
        // images are newer, so `info block -n` shows them first
        graph.register(fileNode);
        graph.register(node);
        try {
            attachBacking(node, o, depth, chain, prefix);
        } catch (RuntimeException e) {
            graph.close(node);
            throw e;
        }
        return node;
    }

    private BlockNode openProtocol(BlockDriverFactory factory, BlockOptions o, boolean readOnly, String prefix) {
        DriverOptions.check(factory, o, prefix);
        RequestPolicy policy = RequestPolicy.of(o, readOnly);
        BlockNode node = graph.newNode(o.get("node-name"), readOnly, NodeCache.from(o));
        node.setPolicy(policy);
        String filename = o.get("filename", o.get("file"));
        BlockOptions po = filename != null ? o.with("filename", filename) : o;
        node.bind(factory.open(node, po, graph::object));
        graph.register(node);
        return node;
    }

    /** The {@code file} child: a reference to an existing node, nested {@code file.*} options, or a filename. */
    private BlockNode openFileChild(BlockOptions o, boolean readOnly, String prefix) {
        String file = o.get("file");
        BlockOptions nested = o.sub("file");
        if (file != null && nested.isEmpty()) {
            BlockNode existing = graph.node(file);
            if (existing != null && !looksLikePath(file)) {
                return existing;
            }
            BlockDriverFactory protocol = drivers.protocolFor(file);
            BlockOptions fo = BlockOptions.empty().with("driver", protocol.name()).with("filename", file)
                    .with("read-only", readOnly ? "on" : "off");
            return openProtocol(protocol, protocol.name().equals("file") ? inheritLocking(o, fo) : NodeCache.inherit(o, fo),
                    readOnly, prefix + "file.");
        }
        if (!nested.isEmpty()) {
            BlockOptions fo = inheritLocking(o, nested.has("driver") ? nested : nested.with("driver", "file"));
            if (!fo.has("read-only")) {
                fo = fo.with("read-only", readOnly ? "on" : "off");
            }
            BlockDriverFactory f = drivers.require(fo.get("driver"));
            return f.isProtocol() ? openProtocol(f, fo, readOnly, prefix + "file.")
                    : open(fo, readOnly, 0, new HashSet<>(), prefix + "file.");
        }
        throw BlockException.invalid("A block device must be given a 'file' (or 'file.filename') option");
    }

    /**
     * Locking choices made on a format node apply to the file under it, as {@code force-share}
     * does in QEMU; so do its cache options (QEMU's {@code bdrv_inherited_options}).
     */
    private static BlockOptions inheritLocking(BlockOptions parent, BlockOptions child) {
        child = NodeCache.inherit(parent, child);
        for (String k : new String[] {"locking", "force-share", "x-unshare-write"}) {
            if (parent.has(k) && !child.has(k)) {
                child = child.with(k, parent.get(k));
            }
        }
        return child;
    }

    private static boolean looksLikePath(String s) {
        return s.contains("/") || s.contains(".");
    }

    private BlockDriverFactory probe(BlockNode fileNode) {
        ByteBuffer head = ByteBuffer.allocate(512);
        fileNode.readPadded(0, head);
        head.flip();
        BlockDriverFactory best = drivers.require("raw");
        int bestScore = 0;
        for (BlockDriverFactory f : drivers.all()) {
            int score = f.probe(head.duplicate());
            if (score > bestScore) {
                best = f;
                bestScore = score;
            }
        }
        return best;
    }

    private void attachBacking(BlockNode node, BlockOptions o, int depth, Set<Path> chain, String prefix) {
        String ref = o.get("backing");
        if (ref != null) {
            if (ref.isEmpty() || ref.equals("null")) {
                return;
            }
            BlockNode existing = graph.node(ref);
            if (existing == null) {
                throw new BlockException(BlockException.Kind.NOT_FOUND, "Cannot find device='' nor node-name='" + ref + "'");
            }
            node.attach(ChildRole.BACKING, existing);
            return;
        }
        BlockOptions nested = o.sub("backing");
        String stored = node.driver().backingFileName();
        if (stored == null && nested.isEmpty()) {
            return;
        }
        Path self = Path.of(node.filename()).toAbsolutePath().normalize();
        chain.add(self);
        BlockOptions bo = nested;
        if (!bo.has("file") && bo.sub("file").isEmpty()) {
            if (stored == null) {
                throw BlockException.invalid("backing options given for an image without a backing file");
            }
            Path resolved = resolveBacking(self, stored);
            if (chain.contains(resolved)) {
                throw BlockException.invalid("Backing file chain of '" + self + "' loops back to '" + resolved + "'");
            }
            if (Files.isDirectory(resolved)) {
                throw backingError(new BlockException(BlockException.Kind.INVALID_ARGUMENT,
                        "Could not open '" + resolved + "': Is a directory"));
            }
            bo = bo.with("file", resolved.toString());
            String fmt = node.driver().backingFormat();
            if (fmt != null && !bo.has("driver") && !bo.has("format")) {
                bo = bo.with("driver", fmt);
            }
        }
        if (!bo.has("read-only")) {
            bo = bo.with("read-only", "on");
        }
        // a backing file must not change under its overlay: refuse other writers, as QEMU does
        bo = inheritLocking(o, bo.with("x-unshare-write", "on"));
        BlockNode backing;
        try {
            backing = open(bo, true, depth + 1, chain, prefix + "backing.");
        } catch (BlockException e) {
            throw backingError(e);
        }
        node.attach(ChildRole.BACKING, backing);
    }

    private static BlockException backingError(BlockException e) {
        if (e.getMessage().startsWith("Could not open backing file")) {
            return e;
        }
        return new BlockException(e.kind(), "Could not open backing file: " + e.getMessage(), e);
    }

    /** QEMU's rule: a relative backing name is relative to the directory of the image holding it. */
    static Path resolveBacking(Path image, String stored) {
        if (stored.startsWith("json:") || stored.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            throw BlockException.unsupported("Backing file name '" + stored + "' names a protocol Strata does not support");
        }
        Path p = Path.of(stored);
        if (p.isAbsolute()) {
            return p.normalize();
        }
        Path dir = image.getParent();
        return (dir == null ? p : dir.resolve(p)).toAbsolutePath().normalize();
    }
}
