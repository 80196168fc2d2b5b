package dev.strata.device.virtio;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.device.AbstractBlockDevice;
import dev.strata.device.DeviceEventListener;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.AvailRing;
import dev.strata.device.ring.GuestInterrupt;
import dev.strata.device.ring.HeadWorkers;
import dev.strata.device.ring.RequestRing;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A virtio-blk disk (virtio 1.1 §5.2) with one request queue. The guest driver reads
 * {@link #config()}, lays out a descriptor table in guest memory, {@link #activate}s the queue and
 * publishes chain heads; the device parses each chain on its iothread
 * ({@link BlkRequestParser}), runs it on that head's virtual thread against the
 * {@link BlockBackend} ({@link BlkExecutor}: rerror/werror, accounting), writes the status byte
 * and returns the head on the used ring, whose thread raises one interrupt per batch.
 *
 * <p>Thread safety: {@link #activate}/{@link #close} on the control thread (guarded by
 * {@code lifecycle}); the iothread alone parses (it owns {@code parsed}/{@code outcome} of a head
 * until it dispatches); a head's worker alone executes it; monitor queries from any thread.
 */
public final class VirtioBlkDevice extends AbstractBlockDevice {

    private static final System.Logger LOG = System.getLogger(VirtioBlkDevice.class.getName());

    private final GuestMemory memory;
    private final VirtioBlkConfig config;
    private final BlkExecutor executor;
    private final ReentrantLock lifecycle = new ReentrantLock();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private BlkRequest[] parsed;
    private ParseStatus[] outcome;
    private ByteBuffer[] views;
    private long descTable;
    private RequestRing ring;
    private HeadWorkers workers;

    /**
     * Builds the device; {@link dev.strata.device.Peripherals} is the usual way (it picks the QOM
     * path). Attaches itself to the backend ({@code info block}'s "Attached to").
     */
    public VirtioBlkDevice(DeviceOptions options, String qomPath, VmRunState vm, GuestMemory memory,
                           List<DeviceEventListener> listeners) {
        super(options, qomPath, vm, listeners);
        this.memory = memory;
        BlockBackend b = options.backend();
        this.config = VirtioBlkConfig.defaults(b.size(), options.queueSize(), b.cacheMode().writeback(),
                b.root().isReadOnly());
        this.executor = new BlkExecutor(b, memory, config, accounting, errors, options.serial());
        b.setAttachedTo(attachedTo());
    }

    /** The queue size the device offers (virtio-pci {@code queue_size}): descriptor table entries. */
    public int queueSize() {
        return options.queueSize();
    }

    /** The configuration space the driver reads at probe time. */
    public VirtioBlkConfig config() {
        return config;
    }

    /**
     * Driver set-up (virtio's queue address write plus DRIVER_OK): the descriptor table of
     * {@code config().segMax()+2}-or-more entries lives at {@code descTable} in guest memory,
     * {@code irq} receives completions. Starts the iothread and the interrupt thread.
     *
     * @return the available ring the guest publishes chain heads on
     */
    public AvailRing activate(long descTable, GuestInterrupt irq) {
        lifecycle.lock();
        try {
            if (ring != null) {
                throw new IllegalStateException(driveId() + ": queue already activated");
            }
            int n = options.queueSize();
            int maxRanges = Math.max(config.maxDiscardSeg(), config.maxWriteZeroesSeg());
            parsed = new BlkRequest[n];
            outcome = new ParseStatus[n];
            views = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                parsed[i] = new BlkRequest(config.segMax(), maxRanges);
                views[i] = memory.view();
            }
            this.descTable = descTable;
            ring = new RequestRing(driveId(), n, options.ringWait(), options.ringThreads(), this::onAvail, irq);
            workers = new HeadWorkers(driveId(), n, this::runHead, this::completeHead);
            ring.start();
            return new CountingAvail(ring);
        } finally {
            lifecycle.unlock();
        }
    }

    /** Iothread: parse the chain, then hand it to its head's worker. */
    private void onAvail(int head, boolean endOfBatch) {
        if (head < 0 || head >= parsed.length) {
            // §2.6.6: not a head of this queue; nothing of ours to parse into, give it straight back
            malformed.incrementAndGet();
            completeHead(head, 0);
            return;
        }
        if (workers.isBusy(head)) {
            // the guest re-published a head it does not own: QEMU marks the device broken; we drop it
            protocolErrors.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, driveId() + ": guest published head " + head + " while in flight; ignored");
            inflight.end();
            return;
        }
        outcome[head] = BlkRequestParser.parse(memory, descTable, parsed.length, head, config, parsed[head]);
        if (!workers.dispatch(head)) {
            inflight.end(); // the device is closing: the request is dropped
        }
    }

    /** A request is done: back to the guest on the used ring, and no longer running for a drain. */
    private void completeHead(int head, int usedLen) {
        ring.complete(head, usedLen);
        inflight.end();
    }

    /**
     * The available ring as the guest sees it: counts each published head as running before the
     * device can see it, so {@link #drain()} knows what is outstanding.
     */
    private final class CountingAvail implements AvailRing {
        private final RequestRing target;

        CountingAvail(RequestRing target) {
            this.target = target;
        }

        @Override
        public int size() {
            return target.size();
        }

        @Override
        public void publish(int head) {
            inflight.begin();
            try {
                target.publish(head);
            } catch (RuntimeException e) {
                inflight.end();
                throw e;
            }
        }
    }

    /** Worker: run the parsed request (or complete the refusal); returns the used length. */
    private int runHead(int head) {
        ParseStatus ps = outcome[head];
        BlkRequest r = parsed[head];
        if (!ps.ok()) {
            malformed.incrementAndGet();
            executor.refused(r, ps);
            if (r.statusAddr < 0) {
                return 0;
            }
            memory.putByte(r.statusAddr, (byte) ps.status());
            return 1;
        }
        int written = 0;
        int status;
        try {
            status = executor.execute(r, views[head]);
            if (status == VirtioBlkSpec.S_OK && r.type == VirtioBlkSpec.T_IN) {
                written = (int) Math.min(Integer.MAX_VALUE - 1, r.dataLen);
            } else if (status == VirtioBlkSpec.S_OK && r.type == VirtioBlkSpec.T_GET_ID) {
                written = (int) Math.min(VirtioBlkSpec.ID_BYTES, r.dataLen);
            }
        } catch (RuntimeException e) {
            // a bug below us, not a guest error: the guest still gets its completion, never a hang
            LOG.log(System.Logger.Level.ERROR, driveId() + ": request " + r + " failed unexpectedly", e);
            status = VirtioBlkSpec.S_IOERR;
        }
        memory.putByte(r.statusAddr, (byte) status);
        return written + 1;
    }

    /** Requests refused by the parser so far (malformed chains). */
    public long malformedRequests() {
        return malformed.get();
    }

    /** Heads the guest published while they were still in flight (dropped). */
    public long protocolErrors() {
        return protocolErrors.get();
    }

    @Override
    public String attachedTo() {
        // the backend hangs off the proxy's id-less virtio-backend child: always the path
        return qomPath;
    }

    @Override
    public String model() {
        return "virtio-blk-pci";
    }

    @Override
    public void close() {
        lifecycle.lock();
        try {
            if (ring != null) {
                // workers first: their completions still need the used ring's thread
                workers.close();
                ring.close();
            }
            options.backend().setAttachedTo(null);
        } finally {
            lifecycle.unlock();
        }
    }
}
